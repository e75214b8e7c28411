/* A C subscriber that follows only the segment layout and protocol documented in
 * posix_ipc::typed::pubsub, without the library (tests/pubsub_c.rs compiles it): it registers
 * in the subscriber table, holds each frame with its holder bit, moves its cursor, sleeps on
 * the data futex when there is nothing to read, and leaves. Kept beside the library's C API
 * because it proves the documented layout is enough for a foreign implementation.
 *
 * usage: protocol_subscriber TOPIC COUNT FINGERPRINT HEADER_SIZE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Offsets from the layout table of posix_ipc::typed::pubsub. */
#define VERSION 8
#define FINGERPRINT 16
#define PAYLOAD 24
#define CAPACITY 32
#define BUFFERS 40
#define STRIDE 48
#define DATA 56
#define READY 64
#define SHAPE 68
#define MAX_SUBSCRIBERS 80
#define FRAME_HEADER 88
#define TAIL 128
#define DATA_SIGNAL 256
#define SUBSCRIBERS_SLEEPING 260
#define SPACE_SIGNAL 384
#define PUBLISHER_SLEEPING 388
#define SUBSCRIBERS_JOINED 452
#define SUBSCRIBERS 1536
#define CURSORS 4096
#define ENTRIES 8192

static unsigned char *ctrl;
#define U64(off) ((_Atomic uint64_t *)(ctrl + (off)))
#define U32(off) ((_Atomic uint32_t *)(ctrl + (off)))

static uint64_t start_time(void) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f || !fgets(buf, sizeof buf, f)) return 0;
    fclose(f);
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void wake(uint32_t word) {
    atomic_fetch_add(U32(word), 1);
    syscall(SYS_futex, ctrl + word, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char expected(uint64_t seq, uint64_t i) {
    return (unsigned char)(seq * 131 + i * 7 + (i >> 8));
}

int main(int argc, char **argv) {
    uint64_t count = strtoull(argv[2], NULL, 10);
    uint64_t fingerprint = strtoull(argv[3], NULL, 10);
    uint32_t want_header = (uint32_t)strtoul(argv[4], NULL, 10);
    int fd = shm_open(argv[1], O_RDWR, 0);
    if (fd < 0) { perror("shm_open"); return 1; }
    struct stat st;
    fstat(fd, &st);
    unsigned char head[128];
    if (pread(fd, head, sizeof head, 0) != sizeof head) { perror("pread"); return 1; }
    if (memcmp(head, "PIPCPUBS", 8) != 0) { fprintf(stderr, "not a topic\n"); return 2; }
    uint64_t data_off, stride, buffers, capacity, payload, fp;
    uint32_t version, shape, max_subs, header_size;
    memcpy(&version, head + VERSION, 4);
    memcpy(&shape, head + SHAPE, 4);
    memcpy(&fp, head + FINGERPRINT, 8);
    memcpy(&payload, head + PAYLOAD, 8);
    memcpy(&capacity, head + CAPACITY, 8);
    memcpy(&buffers, head + BUFFERS, 8);
    memcpy(&stride, head + STRIDE, 8);
    memcpy(&data_off, head + DATA, 8);
    memcpy(&max_subs, head + MAX_SUBSCRIBERS, 4);
    memcpy(&header_size, head + FRAME_HEADER, 4);
    if (version != 2 || shape != 1 || fp != fingerprint || header_size != want_header) {
        fprintf(stderr, "version %u shape %u fingerprint %llx header %u\n", version, shape,
                (unsigned long long)fp, header_size);
        return 2;
    }
    /* A frame's bytes start after its header, at the header's size rounded up to 64. */
    uint64_t offset = ((uint64_t)header_size + 63) & ~63ull;
    if ((uint64_t)st.st_size < data_off + buffers * stride) { fprintf(stderr, "short\n"); return 2; }
    ctrl = mmap(NULL, data_off, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    /* The payload, read-only. */
    const unsigned char *data = mmap(NULL, buffers * stride, PROT_READ, MAP_SHARED, fd, data_off);
    if (ctrl == MAP_FAILED || data == MAP_FAILED) { perror("mmap"); return 1; }
    if (atomic_load_explicit(U32(READY), memory_order_acquire) != 1) { fprintf(stderr, "not ready\n"); return 2; }

    /* Register: an empty entry of the subscriber table. */
    uint32_t me = (uint32_t)getpid();
    int k = -1;
    for (uint32_t i = 0; i < max_subs; i++) {
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong(U32(SUBSCRIBERS + 32 * i), &zero, me)) { k = (int)i; break; }
    }
    if (k < 0) { fprintf(stderr, "full\n"); return 3; }
    atomic_store(U64(SUBSCRIBERS + 32 * k + 8), start_time());
    atomic_store(U32(SUBSCRIBERS_JOINED), 1);
    uint64_t bit = 1ull << k;
    uint64_t holders = ENTRIES + 64 * capacity;
    for (uint64_t b = 0; b < buffers; b++) atomic_fetch_and(U64(holders + 64 * b), ~bit);
    atomic_store(U32(CURSORS + 128 * k + 8), 0);
    uint64_t next = atomic_load_explicit(U64(TAIL), memory_order_acquire);
    atomic_store(U64(CURSORS + 128 * k), next + 1);
    atomic_thread_fence(memory_order_seq_cst);
    printf("joined\n");
    fflush(stdout);

    uint64_t got = 0, bad = 0, bytes = 0, sleeps = 0;
    /* A test that fails on the Rust side leaves no C process behind: give up after 60 s. */
    double deadline = now_s() + 60.0;
    while (got < count) {
        if (now_s() > deadline) {
            fprintf(stderr, "timed out after %llu of %llu frames\n", (unsigned long long)got,
                    (unsigned long long)count);
            return 5;
        }
        uint64_t e = ENTRIES + 64 * (next & (capacity - 1));
        if (atomic_load_explicit(U64(e), memory_order_acquire) == next + 1) {
            uint64_t b = atomic_load_explicit(U64(e + 8), memory_order_acquire);
            uint64_t len = atomic_load_explicit(U64(e + 16), memory_order_acquire);
            if (b < buffers && len <= payload) {
                atomic_fetch_or_explicit(U64(holders + 64 * b), bit, memory_order_relaxed);
                atomic_thread_fence(memory_order_seq_cst);
                if (atomic_load_explicit(U64(e), memory_order_relaxed) == next + 1) {
                    /* Ours until the bit is cleared. The publisher numbers frames from 0. */
                    const unsigned char *buf = data + b * stride;
                    const unsigned char *frame = buf + offset;
                    /* An entry shorter than the header is a bad frame (of no bytes). */
                    uint64_t flen = len >= offset ? len - offset : 0;
                    if (len < offset) bad++;
                    uint64_t seq = next;
                    uint64_t want = seq % 4 == 0 ? 1 : seq % 4 == 1 ? 4096 : seq % 4 == 2 ? 65543 : 1048576;
                    if (header_size != 0) {
                        struct { uint64_t seq, len; } h;
                        memcpy(&h, buf, sizeof h);
                        if (h.seq != seq || h.len != flen) bad++;
                    }
                    if (flen != want) bad++;
                    for (uint64_t i = 0; i < flen; i++) if (frame[i] != expected(seq, i)) { bad++; break; }
                    bytes += flen;
                    got++;
                    next++;
                    atomic_store_explicit(U64(CURSORS + 128 * k), next + 1, memory_order_release);
                    atomic_fetch_and_explicit(U64(holders + 64 * b), ~bit, memory_order_release);
                    /* Block policy: a publisher waiting for room is woken. */
                    atomic_thread_fence(memory_order_seq_cst);
                    if (atomic_load(U32(PUBLISHER_SLEEPING)) != 0) wake(SPACE_SIGNAL);
                    continue;
                }
                atomic_fetch_and(U64(holders + 64 * b), ~bit);
            }
        }
        if (atomic_load(U64(TAIL)) > next) continue;
        /* Nothing yet: announce the sleep, barrier (publishers skip their fence), re-check,
           sleep on the data futex (at most 10 ms). */
        atomic_fetch_add(U32(SUBSCRIBERS_SLEEPING), 1);
        syscall(SYS_membarrier, 1 << 1 /* MEMBARRIER_CMD_GLOBAL_EXPEDITED */, 0, 0);
        uint32_t seen = atomic_load(U32(DATA_SIGNAL));
        if (atomic_load(U64(TAIL)) <= next) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            syscall(SYS_futex, ctrl + DATA_SIGNAL, FUTEX_WAIT, seen, &ts, NULL, 0);
            sleeps++;
        }
        atomic_fetch_sub(U32(SUBSCRIBERS_SLEEPING), 1);
    }
    /* Leave: cursor, then the table entry; a waiting publisher goes on. */
    atomic_store(U64(CURSORS + 128 * k), 0);
    atomic_store(U64(SUBSCRIBERS + 32 * k + 8), 0);
    atomic_store(U32(SUBSCRIBERS + 32 * k), 0);
    wake(SPACE_SIGNAL);
    printf("received %llu frames, %llu bytes, %llu bad, slept %llu times\n",
           (unsigned long long)got, (unsigned long long)bytes, (unsigned long long)bad,
           (unsigned long long)sleeps);
    return bad == 0 ? 0 : 4;
}
