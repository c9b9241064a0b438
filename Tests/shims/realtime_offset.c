// SPDX-License-Identifier: Apache-2.0
// A test shim for the wall-clock step tests (Tests/SlotgateEndToEndTests/ClockStepTests.swift), loaded with
// LD_PRELOAD into slotgated: CLOCK_REALTIME, gettimeofday and time read the real clock plus the whole number of
// seconds in the file named by REALTIME_OFFSET_FILE, read on every call, so a test steps the
// process's wall clock by rewriting the file. The monotonic clocks, timers and timed waits are untouched.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset_seconds(void) {
    const char *path = getenv("REALTIME_OFFSET_FILE");
    if (path == NULL) return 0;
    FILE *file = fopen(path, "r");
    if (file == NULL) return 0;
    long long seconds = 0;
    if (fscanf(file, "%lld", &seconds) != 1) seconds = 0;
    fclose(file);
    return seconds;
}

int clock_gettime(clockid_t id, struct timespec *spec) {
    static int (*real)(clockid_t, struct timespec *) = NULL;
    if (real == NULL) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int result = real(id, spec);
    if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) spec->tv_sec += offset_seconds();
    return result;
}

int gettimeofday(struct timeval *value, void *zone) {
    struct timespec spec;
    int result = clock_gettime(CLOCK_REALTIME, &spec);
    if (result == 0 && value != NULL) {
        value->tv_sec = spec.tv_sec;
        value->tv_usec = spec.tv_nsec / 1000;
    }
    (void)zone;
    return result;
}

time_t time(time_t *out) {
    struct timespec spec;
    clock_gettime(CLOCK_REALTIME, &spec);
    if (out != NULL) *out = spec.tv_sec;
    return spec.tv_sec;
}
