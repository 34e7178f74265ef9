#define _POSIX_C_SOURCE 200809L
/* ltc_last_error() is per thread: several threads fail differently at the same time and each reads
 * back its own message; distinct handles are used from several threads at once. */
#include "testhelper.h"

#include <pthread.h>

#define THREADS 8
#define ROUNDS 300

static pthread_barrier_t start;

typedef struct {
    int id;
    int wrong_message; /* rounds where the thread read someone else's (or no) message */
    int wrong_value;   /* rounds where its own tensor computed a wrong value */
    int calls_failed;  /* unexpected statuses */
} job;

static void *worker(void *arg) {
    job *j = arg;
    pthread_barrier_wait(&start);
    for (int r = 0; r < ROUNDS; r++) {
        char bad[64], want[96];
        ltc_device d;
        /* each thread fails in its own way: a device string, a dtype string or a thread count */
        switch (j->id % 3) {
        case 0:
            snprintf(bad, sizeof bad, "gpu-%d-%d", j->id, r);
            snprintf(want, sizeof want, "device \"%s\" is not valid", bad);
            if (ltc_device_parse(&d, bad) != LTC_ERR_INVALID_ARGUMENT)
                j->calls_failed++;
            break;
        case 1: {
            ltc_dtype t;
            snprintf(bad, sizeof bad, "half-%d-%d", j->id, r);
            snprintf(want, sizeof want, "dtype \"%s\" is not valid", bad);
            if (ltc_dtype_parse(&t, bad) != LTC_ERR_INVALID_ARGUMENT)
                j->calls_failed++;
            break;
        }
        default:
            snprintf(want, sizeof want, "%d threads is not valid", -(j->id * 1000 + r));
            if (ltc_num_threads_set(-(j->id * 1000 + r)) != LTC_ERR_INVALID_ARGUMENT)
                j->calls_failed++;
        }
        /* a successful call in between does not clear or change this thread's message */
        int64_t shape[1] = {16};
        ltc_tensor *t = NULL;
        if (ltc_tensor_ones(&t, shape, 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}) != LTC_OK) {
            j->calls_failed++;
        } else {
            float v[16];
            if (ltc_tensor_copy_to_host(v, sizeof v, t) != LTC_OK || v[15] != 1.0f)
                j->wrong_value++;
            ltc_tensor_free(t);
        }
        if (strstr(ltc_last_error(), want) == NULL)
            j->wrong_message++;
    }
    return NULL;
}

int main(void) {
    pthread_t th[THREADS];
    job jobs[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){i, 0, 0, 0};
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++) {
        char name[96];
        snprintf(name, sizeof name, "thread %d read only its own messages (%d wrong of %d)", i, jobs[i].wrong_message, ROUNDS);
        CHECK(name, jobs[i].wrong_message == 0);
        snprintf(name, sizeof name, "thread %d: every call returned what it should", i);
        CHECK(name, jobs[i].calls_failed == 0 && jobs[i].wrong_value == 0);
    }
    CHECK("the main thread saw none of it", strcmp(ltc_last_error(), "") == 0);
    return th_finish();
}
