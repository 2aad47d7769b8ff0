// The runtime's worker threads: persistent, and after a job they spin briefly before sleeping.
//
// A forward pass is a chain of short parallel steps (a GEMM of 0.2–3 ms, a softmax, a layer
// norm) with serial work between them. Handing each step to threads that went to sleep costs a
// futex wake and, on a virtual machine, waking an idle vCPU: tens of microseconds per step, and
// on a 2-core machine the second core then sat idle for a sizeable share of each pass. Workers
// here keep polling for the next job for PORTER_POOL_SPIN_US (default 100 µs) after each one,
// then block on a condition variable, so an idle process (a conversion, a finished run) does
// not spin.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "porter_runtime.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_WORKERS 255

typedef struct {
    porter_task_fn fn;
    void *ctx;
    size_t tasks;
    _Atomic size_t next;
    _Atomic size_t done;
} job_t;

static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t generation;
static _Atomic(job_t *) current;
// Workers between announcing themselves and letting go of `current`'s job: the submitter
// returns (and its job, on its stack, ends) only when this is 0 after unpublishing the job.
static _Atomic int active;
static _Atomic int sleeping;
static int workers;
static int64_t spin_ns = -1;
static _Thread_local int inside_task;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void run_tasks(job_t *job) {
    inside_task = 1;
    size_t i;
    while ((i = atomic_fetch_add(&job->next, 1)) < job->tasks) {
        job->fn(job->ctx, i);
        atomic_fetch_add(&job->done, 1);
    }
    inside_task = 0;
}

static void *worker_main(void *unused) {
    (void)unused;
    uint64_t seen = atomic_load(&generation);
    for (;;) {
        uint64_t g = atomic_load(&generation);
        if (g == seen) {
            int64_t until = now_ns() + spin_ns;
            for (unsigned spins = 0; (g = atomic_load(&generation)) == seen; spins++) {
                CPU_RELAX();
                if ((spins & 63) == 63 && now_ns() > until) break;
            }
        }
        if (g == seen) {
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleeping, 1);
            while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&sleep_cond, &sleep_lock);
            atomic_fetch_sub(&sleeping, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = g;
        atomic_fetch_add(&active, 1);
        job_t *job = atomic_load(&current);
        if (job) run_tasks(job);
        atomic_fetch_sub(&active, 1);
    }
    return NULL;
}

// Called with submit_lock held.
static void ensure_workers(int wanted) {
    if (spin_ns < 0) {
        const char *env = getenv("PORTER_POOL_SPIN_US");
        long us = env ? strtol(env, NULL, 10) : 100;
        spin_ns = (us < 0 ? 0 : us > 1000000 ? 1000000 : us) * 1000;
    }
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    while (workers < wanted) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&t, &attr, worker_main, NULL) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) break;
        workers++;
    }
}

void porter_pool_run(size_t tasks, int threads, porter_task_fn fn, void *ctx) {
    if (tasks == 0) return;
    // One task, one thread, a task of a running job (nested), or another thread's job in
    // flight: run here, in order.
    if (tasks == 1 || threads <= 1 || inside_task || pthread_mutex_trylock(&submit_lock) != 0) {
        for (size_t i = 0; i < tasks; i++) fn(ctx, i);
        return;
    }
    ensure_workers(threads - 1);
    job_t job = {.fn = fn, .ctx = ctx, .tasks = tasks};
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    atomic_store(&current, &job);
    atomic_fetch_add(&generation, 1);
    if (atomic_load(&sleeping) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&sleep_cond);
        pthread_mutex_unlock(&sleep_lock);
    }
    run_tasks(&job);
    while (atomic_load(&job.done) < tasks) CPU_RELAX();
    atomic_store(&current, (job_t *)NULL);
    while (atomic_load(&active) != 0) CPU_RELAX();
    pthread_mutex_unlock(&submit_lock);
}
