/* The diagnosis API itself: arguments, accessors, agreement between the report and LibTorch, and two
 * diagnoses at once from two threads. */
#include "testhelper.h"

#include <pthread.h>

typedef struct {
    ltc_status status;
    ltc_cause cause;
    char json_head[64];
} thread_result;

static void *diagnose_thread(void *arg) {
    thread_result *r = arg;
    ltc_diagnosis *d = NULL;
    r->status = ltc_diagnose(&d, LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD);
    r->cause = ltc_diagnosis_cause(d);
    snprintf(r->json_head, sizeof r->json_head, "%s", ltc_diagnosis_json(d));
    ltc_diagnosis_free(d);
    return NULL;
}

int main(void) {
    ltc_diagnosis *d = (ltc_diagnosis *)1;
    CHECK_FAILS(ltc_diagnose(&d, 0x80u), LTC_ERR_INVALID_ARGUMENT, "flags 0x80 has unknown bits 0x80");
    CHECK("out NULL on failure", d == NULL);
    CHECK_FAILS(ltc_diagnose(NULL, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");

    CHECK_OK(ltc_diagnose(&d, LTC_DIAGNOSE_QUICK));
    ltc_cause cause = ltc_diagnosis_cause(d);
    CHECK("verdict agrees with LibTorch", ltc_diagnosis_usable(d) == ltc_cuda_is_available());
    CHECK("usable iff no cause", ltc_diagnosis_usable(d) == (cause == LTC_CAUSE_NONE));
    CHECK("message never empty", ltc_diagnosis_message(d)[0] != '\0');
    CHECK("a fix whenever not usable", ltc_diagnosis_usable(d) || ltc_diagnosis_fix(d)[0] != '\0');
    CHECK("text leads with the verdict", strncmp(ltc_diagnosis_text(d), "GPU usable: ", 12) == 0);
    CHECK("json is an object", ltc_diagnosis_json(d)[0] == '{');
    const char *ver = ltc_diagnosis_get(d, "build.torch_version");
    CHECK("facts: torch version", ver && strcmp(ver, LTC_TEST_TORCH_VERSION) == 0);
    const char *code = ltc_diagnosis_get(d, "cause.code");
    CHECK("facts: cause code", code && strcmp(code, ltc_cause_name(cause)) == 0);
    CHECK("facts: unknown key", ltc_diagnosis_get(d, "no.such.fact") == NULL);
    CHECK("facts: NULL key", ltc_diagnosis_get(d, NULL) == NULL);

    size_t n = ltc_diagnosis_finding_count(d);
    CHECK("at least one finding", n >= 1);
    int primary_seen = 0;
    for (size_t i = 0; i < n; i++) {
        ltc_finding f;
        CHECK_OK(ltc_diagnosis_finding(&f, d, i));
        CHECK("finding strings never NULL", f.message && f.fix && f.evidence);
        primary_seen |= f.code == cause && (cause == LTC_CAUSE_NONE || f.severity == LTC_SEVERITY_ERROR);
    }
    CHECK("the primary cause is among the findings", primary_seen);
    ltc_finding f;
    char want[96];
    snprintf(want, sizeof want, "index %zu is out of range: the report has %zu finding", n + 5, n);
    CHECK_FAILS(ltc_diagnosis_finding(&f, d, n + 5), LTC_ERR_INVALID_ARGUMENT, want);
    CHECK_FAILS(ltc_diagnosis_finding(NULL, d, 0), LTC_ERR_INVALID_ARGUMENT, "'out' is NULL");
    ltc_diagnosis_free(d);

    /* NULL handles */
    CHECK("usable NULL", ltc_diagnosis_usable(NULL) == 0);
    CHECK("cause NULL is not 'usable'", ltc_diagnosis_cause(NULL) == LTC_CAUSE_INVALID && LTC_CAUSE_INVALID != LTC_CAUSE_NONE &&
                                          strstr(ltc_last_error(), "'diagnosis' is NULL"));
    CHECK("strings NULL", strcmp(ltc_diagnosis_message(NULL), "") == 0 && strcmp(ltc_diagnosis_json(NULL), "") == 0 &&
                              strcmp(ltc_diagnosis_text(NULL), "") == 0 && strcmp(ltc_diagnosis_fix(NULL), "") == 0);
    CHECK("count NULL", ltc_diagnosis_finding_count(NULL) == 0);
    ltc_diagnosis_free(NULL);

    /* names */
    CHECK("cause names", strcmp(ltc_cause_name(LTC_CAUSE_VISIBLE_DEVICES), "LTC_CAUSE_VISIBLE_DEVICES") == 0 &&
                             strcmp(ltc_cause_name((ltc_cause)999), "LTC_CAUSE_UNKNOWN") == 0);
    CHECK("cause summaries", strcmp(ltc_cause_summary(LTC_CAUSE_NO_DRIVER), "no NVIDIA driver") == 0 &&
                                 strcmp(ltc_cause_summary((ltc_cause)999), "unknown cause") == 0);
    CHECK("pinned cause values", LTC_CAUSE_NONE == 0 && LTC_CAUSE_NO_DRIVER == 3 && LTC_CAUSE_VISIBLE_DEVICES == 13 &&
                                     LTC_CAUSE_DUPLICATE_LIBRARY == 19 && LTC_CAUSE_LIBRARY_LOAD == 20 &&
                                     LTC_CAUSE_GPU_LOST == 31 && LTC_CAUSE_SUSPECT_VARIABLE == 32 && LTC_CAUSE_TORCH_SETTING == 33 &&
                                     LTC_CAUSE_INVALID == -1);
    CHECK("new cause names", strcmp(ltc_cause_name(LTC_CAUSE_BATCH_NO_GPU), "LTC_CAUSE_BATCH_NO_GPU") == 0 &&
                                 strcmp(ltc_cause_name(LTC_CAUSE_INVALID), "LTC_CAUSE_INVALID") == 0 &&
                                 strcmp(ltc_cause_summary(LTC_CAUSE_CONTAINER_NO_GPU), "container without GPU access") == 0);
    for (int c = 0; c <= LTC_CAUSE_TORCH_SETTING; c++) {
        char what[64];
        snprintf(what, sizeof what, "cause %d has a name and a summary", c);
        CHECK(what, strcmp(ltc_cause_name((ltc_cause)c), "LTC_CAUSE_UNKNOWN") != 0 &&
                        strcmp(ltc_cause_summary((ltc_cause)c), "unknown cause") != 0);
    }

    /* two threads at once: no shared driver state, the same answer as one alone */
    pthread_t t[2];
    thread_result r[2];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 2; i++)
        CHECK("thread started", pthread_create(&t[i], NULL, diagnose_thread, &r[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK("thread's diagnosis ok", r[i].status == LTC_OK && r[i].json_head[0] == '{');
        CHECK("thread's cause is the same as alone", r[i].cause == cause);
    }
    return th_finish();
}
