/* A fault for the cross-rank check's tests: preloaded (LD_PRELOAD) into every rank, it kills the rank
 * whose RANK equals LTC_TEST_DIE_RANK with SIGABRT as soon as it is loaded, before the rank can report.
 * Processes without RANK (the launcher itself) are left alone. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void die_if_chosen(void) {
    const char *rank = getenv("RANK"), *chosen = getenv("LTC_TEST_DIE_RANK");
    if (rank && chosen && strcmp(rank, chosen) == 0)
        abort();
}
