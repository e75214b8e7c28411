/* A C peer of the Rust tests, through libposix_ipc only: `peer MODE NAME N`.
 *
 *   pub-poses     create (or take over) a topic of Pose, print "ready", wait for a line on
 *                 stdin, publish poses 0..N-1 (by loan and by copy, alternately), close.
 *   sub-poses     join the topic (waiting for it), print "joined", receive until the
 *                 publisher is gone: every pose 0..N-1 in order, in place and by copy.
 *   pub-frames    the same with frames after a FrameHead header (frame i: frame_len(i) bytes).
 *   sub-frames
 *   ring-send     create a ring of Pose, print "ready", wait for a line, send 0..N-1.
 *   ring-recv     open the ring, receive 0..N-1.
 *   shared-write  create a shared Pose, print "ready", wait for a line, store 1..N.
 *   shared-read   open the shared Pose, follow its changes to pose N, each value consistent.
 *   queue-send    create a typed queue of Pose (owned), print "ready", wait for a line, send
 *                 0..N-1 with priority i % 5, wait for a line, close.
 *   queue-recv    open the queue as a receiver, receive poses 0..N-1 (each once, in order
 *                 within each priority i % 5), then, if the queue tracks its peers, see the
 *                 end once the senders are gone.
 *   queue-forever open the queue as a sender, send pose 0, print "ready", sleep until killed.
 *   pub-forever   publish poses until killed (the kill -9 tests), "ready" after the first.
 *   sub-hold      join, print "joined", hold the first sample and sleep until killed.
 *
 * Exit status 0 only if everything checked; a message on stderr otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pose.h"

#define CHECK(call)                                                                      \
    do {                                                                                 \
        int32_t rc_ = (call);                                                            \
        if (rc_ != PIPC_OK) {                                                            \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call,           \
                    pipc_status_name(rc_), pipc_last_error_message());                   \
            exit(2);                                                                     \
        }                                                                                \
    } while (0)

static void fail(const char *what, uint64_t i) {
    fprintf(stderr, "mismatch: %s at %llu\n", what, (unsigned long long)i);
    exit(3);
}

static void ready(const char *word) {
    printf("%s\n", word);
    fflush(stdout);
}

static void wait_go(void) {
    char line[64];
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "stdin closed before the go\n");
        exit(4);
    }
}

static void check_pose(const void *data, size_t len, uint64_t i) {
    struct Pose want = pose(i);
    if (len != sizeof want) fail("pose length", i);
    if (memcmp(data, &want, sizeof want) != 0) fail("pose bytes", i);
}

static void check_frame(const void *data, size_t len, const void *header, uint64_t i) {
    struct FrameHead h;
    if (len != frame_len(i)) fail("frame length", i);
    const uint8_t *b = data;
    for (size_t j = 0; j < len; j++)
        if (b[j] != frame_byte(i, j)) fail("frame byte", i);
    memcpy(&h, header, sizeof h);
    if (h.seq != i || h.width != (uint32_t)len || h.height != 1) fail("frame header", i);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: peer MODE NAME N\n");
        return 1;
    }
    const char *mode = argv[1], *name = argv[2];
    uint64_t n = strtoull(argv[3], NULL, 10);
    pipc_topic_options topts;
    memset(&topts, 0, sizeof topts);
    topts.stall_timeout_ns = 30000000000LL; /* a slow debug peer is not skipped */
    pipc_subscribe_options sopts;
    memset(&sopts, 0, sizeof sopts);
    sopts.wait_ns = 10000000000LL;

    if (!strcmp(mode, "pub-poses") || !strcmp(mode, "pub-forever")) {
        pipc_publisher p;
        CHECK(pipc_publisher_create_or_take_over(&p, name, &POSE, &topts));
        int forever = !strcmp(mode, "pub-forever");
        if (!forever) {
            ready("ready");
            wait_go();
        }
        for (uint64_t i = 0; forever || i < n; i++) {
            struct Pose v = pose(i);
            if (i % 2 == 0) {
                pipc_loan loan;
                CHECK(pipc_publisher_loan(p, &loan, 0, 0, PIPC_FOREVER));
                memcpy(loan.data, &v, sizeof v);
                CHECK(pipc_publisher_send_loan(p, &loan));
            } else {
                CHECK(pipc_publisher_send(p, &v, sizeof v, NULL, 0, PIPC_FOREVER));
            }
            if (forever && i == 0) ready("ready");
            if (forever) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
        }
        CHECK(pipc_publisher_close(p));
        return 0;
    }
    if (!strcmp(mode, "sub-poses") || !strcmp(mode, "sub-hold")) {
        pipc_subscriber s;
        CHECK(pipc_subscriber_open(&s, name, &POSE, &sopts));
        ready("joined");
        if (!strcmp(mode, "sub-hold")) {
            pipc_sample held;
            CHECK(pipc_subscriber_recv(s, &held, PIPC_FOREVER));
            ready("holding");
            for (;;) {
                struct timespec ts = {1, 0};
                nanosleep(&ts, NULL);
            }
        }
        uint64_t i = 0;
        for (;; i++) {
            int32_t rc;
            if (i % 2 == 0) {
                pipc_sample sample;
                rc = pipc_subscriber_recv(s, &sample, 30000000000LL);
                if (rc == PIPC_OK) {
                    if (sample.index != i) fail("index", i);
                    check_pose(sample.data, sample.len, i);
                    CHECK(pipc_subscriber_release(s, &sample));
                }
            } else {
                struct Pose got;
                size_t len = 0;
                uint64_t index = 0;
                rc = pipc_subscriber_recv_copy(s, &got, sizeof got, &len, NULL, 0, &index,
                                               30000000000LL);
                if (rc == PIPC_OK) {
                    if (index != i) fail("index", i);
                    check_pose(&got, len, i);
                }
            }
            if (rc == PIPC_DISCONNECTED) break;
            if (rc != PIPC_OK) {
                fprintf(stderr, "recv %llu: %s: %s\n", (unsigned long long)i,
                        pipc_status_name(rc), pipc_last_error_message());
                return 2;
            }
        }
        if (i != n) fail("count", i);
        printf("received %llu\n", (unsigned long long)i);
        CHECK(pipc_subscriber_close(s));
        return 0;
    }
    if (!strcmp(mode, "pub-frames")) {
        pipc_publisher p;
        CHECK(pipc_frame_publisher_create_or_take_over(&p, name, 65536, &FRAME_HEAD, &topts));
        ready("ready");
        wait_go();
        uint8_t *copy = malloc(65536);
        for (uint64_t i = 0; i < n; i++) {
            size_t len = frame_len(i);
            struct FrameHead h = {i, (uint32_t)len, 1};
            if (i % 2 == 0) {
                pipc_loan loan;
                CHECK(pipc_publisher_loan(p, &loan, 0, 0, PIPC_FOREVER));
                if (loan.capacity != 65536 || loan.header_len != sizeof h) fail("loan sizes", i);
                uint8_t *b = loan.data;
                for (size_t j = 0; j < len; j++) b[j] = frame_byte(i, j);
                memcpy(loan.header, &h, sizeof h);
                loan.len = len;
                CHECK(pipc_publisher_send_loan(p, &loan));
            } else {
                for (size_t j = 0; j < len; j++) copy[j] = frame_byte(i, j);
                CHECK(pipc_publisher_send(p, copy, len, &h, sizeof h, PIPC_FOREVER));
            }
        }
        free(copy);
        CHECK(pipc_publisher_close(p));
        return 0;
    }
    if (!strcmp(mode, "sub-frames")) {
        pipc_subscriber s;
        CHECK(pipc_frame_subscriber_open(&s, name, &FRAME_HEAD, &sopts));
        size_t max_len = 0, header_len = 0;
        CHECK(pipc_subscriber_sizes(s, &max_len, &header_len));
        if (header_len != sizeof(struct FrameHead)) fail("header_len", 0);
        uint8_t *buf = malloc(max_len);
        ready("joined");
        uint64_t i = 0;
        for (;; i++) {
            int32_t rc;
            if (i % 2 == 0) {
                pipc_sample sample;
                rc = pipc_subscriber_recv(s, &sample, 30000000000LL);
                if (rc == PIPC_OK) {
                    if (sample.index != i) fail("index", i);
                    check_frame(sample.data, sample.len, sample.header, i);
                    CHECK(pipc_subscriber_release(s, &sample));
                }
            } else {
                struct FrameHead h;
                size_t len = 0;
                rc = pipc_subscriber_recv_copy(s, buf, max_len, &len, &h, sizeof h, NULL,
                                               30000000000LL);
                if (rc == PIPC_OK) check_frame(buf, len, &h, i);
            }
            if (rc == PIPC_DISCONNECTED) break;
            if (rc != PIPC_OK) {
                fprintf(stderr, "recv %llu: %s: %s\n", (unsigned long long)i,
                        pipc_status_name(rc), pipc_last_error_message());
                return 2;
            }
        }
        free(buf);
        if (i != n) fail("count", i);
        printf("received %llu\n", (unsigned long long)i);
        CHECK(pipc_subscriber_close(s));
        return 0;
    }
    if (!strcmp(mode, "ring-send")) {
        pipc_ring_sender tx;
        CHECK(pipc_ring_sender_open(&tx, name, &POSE, PIPC_CREATE_OR_TAKE_OVER, 8, PIPC_SPSC));
        ready("ready");
        wait_go();
        for (uint64_t i = 0; i < n; i++) {
            struct Pose v = pose(i);
            CHECK(pipc_ring_send(tx, &v, sizeof v, 30000000000LL));
        }
        /* The ring is owned: it goes with this handle, so wait for the receiver's word. */
        wait_go();
        CHECK(pipc_ring_sender_close(tx));
        return 0;
    }
    if (!strcmp(mode, "ring-recv")) {
        pipc_ring_receiver rx;
        CHECK(pipc_ring_receiver_open(&rx, name, &POSE, PIPC_OPEN, 0, 0));
        ready("joined");
        for (uint64_t i = 0; i < n; i++) {
            struct Pose v;
            CHECK(pipc_ring_recv(rx, &v, sizeof v, 30000000000LL));
            check_pose(&v, sizeof v, i);
        }
        printf("received %llu\n", (unsigned long long)n);
        CHECK(pipc_ring_receiver_close(rx));
        return 0;
    }
    if (!strcmp(mode, "shared-write")) {
        pipc_shared sh;
        struct Pose zero = pose(0);
        CHECK(pipc_shared_open(&sh, name, &POSE, PIPC_CREATE_OR_TAKE_OVER, &zero));
        ready("ready");
        wait_go();
        for (uint64_t i = 1; i <= n; i++) {
            struct Pose v = pose(i);
            CHECK(pipc_shared_store(sh, &v, sizeof v));
        }
        wait_go();
        CHECK(pipc_shared_close(sh));
        return 0;
    }
    if (!strcmp(mode, "shared-read")) {
        pipc_shared sh;
        CHECK(pipc_shared_open(&sh, name, &POSE, PIPC_OPEN, NULL));
        struct Pose v;
        uint64_t version = 0;
        CHECK(pipc_shared_load(sh, &v, sizeof v, &version));
        ready("joined");
        while (v.seq < n) {
            CHECK(pipc_shared_wait_change(sh, version, &v, sizeof v, &version, 30000000000LL));
            check_pose(&v, sizeof v, v.seq);
        }
        printf("read %llu\n", (unsigned long long)v.seq);
        CHECK(pipc_shared_close(sh));
        return 0;
    }
    if (!strcmp(mode, "queue-send")) {
        pipc_queue q;
        CHECK(pipc_queue_open(&q, name, &POSE, PIPC_CREATE_OR_TAKE_OVER, 8, PIPC_QUEUE_SENDER));
        ready("ready");
        wait_go();
        for (uint64_t i = 0; i < n; i++) {
            struct Pose v = pose(i);
            CHECK(pipc_queue_send(q, &v, sizeof v, (uint32_t)(i % 5), 30000000000LL));
        }
        wait_go();
        CHECK(pipc_queue_close(q));
        return 0;
    }
    if (!strcmp(mode, "queue-recv")) {
        pipc_queue q;
        CHECK(pipc_queue_open(&q, name, &POSE, PIPC_OPEN, 0, PIPC_QUEUE_RECEIVER));
        ready("joined");
        uint64_t got = 0, last[5] = {0, 0, 0, 0, 0};
        int seen[5] = {0, 0, 0, 0, 0};
        while (got < n) {
            struct Pose v;
            uint32_t prio = 99;
            int32_t rc = pipc_queue_recv(q, &v, sizeof v, &prio, 30000000000LL);
            if (rc != PIPC_OK) {
                fprintf(stderr, "queue recv: %s: %s\n", pipc_status_name(rc),
                        pipc_last_error_message());
                return 2;
            }
            check_pose(&v, sizeof v, v.seq);
            if (prio != v.seq % 5) fail("priority", v.seq);
            if (seen[prio] && v.seq <= last[prio]) fail("order", v.seq);
            seen[prio] = 1;
            last[prio] = v.seq;
            got++;
        }
        if (strcmp(argv[4 < argc ? 4 : 0], "tracked") == 0) {
            struct Pose v;
            int32_t rc = pipc_queue_recv(q, &v, sizeof v, NULL, 30000000000LL);
            if (rc != PIPC_DISCONNECTED) fail("the end", got);
        }
        printf("received %llu\n", (unsigned long long)got);
        CHECK(pipc_queue_close(q));
        return 0;
    }
    if (!strcmp(mode, "queue-forever")) {
        pipc_queue q;
        CHECK(pipc_queue_open(&q, name, &POSE, PIPC_OPEN, 0, PIPC_QUEUE_SENDER));
        struct Pose v = pose(0);
        CHECK(pipc_queue_send(q, &v, sizeof v, 0, 30000000000LL));
        ready("ready");
        for (;;) {
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 1;
}
