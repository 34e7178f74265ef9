#include "testhelper.h"
int main(void) { return th_finish(); }
