/* Misuse of the C API is an error code with a message, never a crash, and the objects keep
 * working afterwards: `misuse PREFIX` (PREFIX: a unique name prefix, "/pit-123-c").
 *
 * Also the behaviour every C user relies on: timeouts, cancellation from another thread,
 * PIPC_LAGGED with its exact count, type mismatches, and the POSIX basics. Prints
 * "fingerprint <hex>" (checked by the Rust test against #[derive(IpcMessage)]) and "ok". */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pose.h"

static int failures = 0;

#define EXPECT(call, want)                                                              \
    do {                                                                                \
        int32_t rc_ = (call);                                                           \
        if (rc_ != (want)) {                                                            \
            fprintf(stderr, "%s:%d: %s gave %s, not %s: %s\n", __FILE__, __LINE__,     \
                    #call, pipc_status_name(rc_), #want,                                \
                    rc_ == PIPC_OK ? "" : pipc_last_error_message());                   \
            failures++;                                                                 \
        } else if ((want) != PIPC_OK && pipc_last_error_message()[0] == '\0') {         \
            fprintf(stderr, "%s:%d: %s: no message\n", __FILE__, __LINE__, #call);      \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

#define EXPECT_MESSAGE(part)                                                            \
    do {                                                                                \
        if (!strstr(pipc_last_error_message(), (part))) {                               \
            fprintf(stderr, "%s:%d: message %s does not say %s\n", __FILE__, __LINE__,  \
                    pipc_last_error_message(), (part));                                 \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

#define TRUE(cond)                                                                      \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: not true: %s\n", __FILE__, __LINE__, #cond);        \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

static char names[9][128];

static const char *name_of(int k, const char *prefix, const char *tag) {
    snprintf(names[k], sizeof names[k], "%s-%s", prefix, tag);
    return names[k];
}

struct blocked {
    pipc_subscriber sub;
    int32_t rc;
};

static void *recv_blocked(void *arg) {
    struct blocked *b = arg;
    pipc_sample s;
    b->rc = pipc_subscriber_recv(b->sub, &s, 20000000000LL);
    return NULL;
}

static void *recv_short(void *arg) {
    struct blocked *b = arg;
    pipc_sample s;
    b->rc = pipc_subscriber_recv(b->sub, &s, 100000000LL);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    const char *prefix = argv[1];
    const char *topic = name_of(0, prefix, "topic");
    const char *frames = name_of(1, prefix, "frames");
    const char *ring = name_of(2, prefix, "ring");
    const char *shared = name_of(3, prefix, "shared");
    const char *sem = name_of(4, prefix, "sem");
    const char *shm = name_of(5, prefix, "shm");
    const char *mq = name_of(6, prefix, "mq");
    const char *mutex = name_of(7, prefix, "mutex");

    uint64_t fp = 0;
    EXPECT(pipc_layout_fingerprint(&POSE_LAYOUT, &fp), PIPC_OK);
    printf("fingerprint %016llx\n", (unsigned long long)fp);

    /* Handles that are zero, closed, or of another kind. */
    pipc_sample sample;
    pipc_subscriber zero_sub = {0};
    EXPECT(pipc_subscriber_recv(zero_sub, &sample, 0), PIPC_BAD_HANDLE);
    EXPECT_MESSAGE("zero");

    pipc_topic_options o;
    memset(&o, 0, sizeof o);
    o.capacity = 2;
    o.policy = PIPC_OVERWRITE;
    pipc_publisher pub;
    EXPECT(pipc_publisher_create(&pub, topic, &POSE, &o), PIPC_OK);
    pipc_subscriber as_sub = {pub.id};
    EXPECT(pipc_subscriber_recv(as_sub, &sample, 0), PIPC_BAD_HANDLE);
    EXPECT_MESSAGE("not a subscriber handle");
    pipc_subscriber sub;
    EXPECT(pipc_subscriber_open(&sub, topic, &POSE, NULL), PIPC_OK);

    /* A second publisher of a live topic is refused, the message naming the C calls to use
     * rather than the Rust ones. */
    pipc_publisher rival;
    EXPECT(pipc_publisher_create_or_take_over(&rival, topic, &POSE, &o), PIPC_ALREADY_EXISTS);
    EXPECT_MESSAGE("is alive");
    EXPECT_MESSAGE("pipc_subscriber_open");
    TRUE(strstr(pipc_last_error_message(), "RecordSubscriber") == NULL);

    /* NULL pointers. */
    EXPECT(pipc_publisher_create(NULL, topic, &POSE, &o), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_publisher_create(&pub, NULL, &POSE, &o), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_subscriber_open(&sub, topic, NULL, NULL), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_subscriber_recv(sub, NULL, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_publisher_send(pub, NULL, 64, NULL, 0, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_layout_fingerprint(NULL, &fp), PIPC_INVALID_ARGUMENT);

    /* Nothing there: would block, times out. */
    EXPECT(pipc_subscriber_recv(sub, &sample, 0), PIPC_WOULD_BLOCK);
    EXPECT(pipc_subscriber_recv(sub, &sample, 1000000), PIPC_TIMED_OUT);

    /* A record of the wrong length, by copy. */
    struct Pose p0 = pose(0);
    EXPECT(pipc_publisher_send(pub, &p0, sizeof p0 - 1, NULL, 0, 0), PIPC_INVALID_ARGUMENT);
    EXPECT_MESSAGE(topic);

    /* Loans: one at a time, no length beyond it, no reuse after sending. */
    pipc_loan loan, second;
    EXPECT(pipc_publisher_loan(pub, &loan, 0, 1, 0), PIPC_OK);
    TRUE(loan.capacity == sizeof(struct Pose) && loan.header == NULL);
    EXPECT(pipc_publisher_loan(pub, &second, 0, 1, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_publisher_send(pub, &p0, sizeof p0, NULL, 0, 0), PIPC_INVALID_ARGUMENT);
    loan.len = loan.capacity + 1;
    EXPECT(pipc_publisher_send_loan(pub, &loan), PIPC_INVALID_ARGUMENT);
    EXPECT_MESSAGE("beyond the loan");
    loan.len = loan.capacity;
    memcpy(loan.data, &p0, sizeof p0);
    EXPECT(pipc_publisher_send_loan(pub, &loan), PIPC_OK);
    EXPECT(pipc_publisher_send_loan(pub, &loan), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_publisher_discard_loan(pub, &loan), PIPC_INVALID_ARGUMENT);

    /* Samples: one held at a time, released once. */
    EXPECT(pipc_subscriber_recv(sub, &sample, 0), PIPC_OK);
    TRUE(sample.index == 0 && sample.len == sizeof(struct Pose));
    TRUE(memcmp(sample.data, &p0, sizeof p0) == 0);
    pipc_sample other;
    EXPECT(pipc_subscriber_recv(sub, &other, 0), PIPC_INVALID_ARGUMENT);
    EXPECT_MESSAGE("still held");
    pipc_sample copy = sample;
    /* recv_next into another (zeroed) struct is refused too; into the holding one it
     * releases first, here finding nothing (the hold is over either way). */
    pipc_sample zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    EXPECT(pipc_subscriber_recv_next(sub, &zeroed, 0), PIPC_INVALID_ARGUMENT);
    pipc_sample again = sample;
    EXPECT(pipc_subscriber_recv_next(sub, &again, 0), PIPC_WOULD_BLOCK);
    EXPECT(pipc_subscriber_release(sub, &again), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_subscriber_release(sub, &sample), PIPC_INVALID_ARGUMENT);
    /* Received again to test release: */
    EXPECT(pipc_publisher_send(pub, &p0, sizeof p0, NULL, 0, 0), PIPC_OK);
    EXPECT(pipc_subscriber_recv(sub, &sample, 0), PIPC_OK);
    copy = sample;
    EXPECT(pipc_subscriber_release(sub, &sample), PIPC_OK);
    EXPECT(pipc_subscriber_release(sub, &sample), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_subscriber_release(sub, &copy), PIPC_INVALID_ARGUMENT);
    EXPECT_MESSAGE("already released");

    /* A copy into a buffer too small is refused before anything is taken. */
    struct Pose p1 = pose(1);
    EXPECT(pipc_publisher_send(pub, &p1, sizeof p1, NULL, 0, 0), PIPC_OK);
    char small[8];
    EXPECT(pipc_subscriber_recv_copy(sub, small, sizeof small, NULL, NULL, 0, NULL, 0),
           PIPC_INVALID_ARGUMENT);
    struct Pose got;
    size_t len = 0;
    uint64_t index = 99;
    EXPECT(pipc_subscriber_recv_copy(sub, &got, sizeof got, &len, NULL, 0, &index, 0), PIPC_OK);
    TRUE(index == 2 && len == sizeof got && memcmp(&got, &p1, sizeof got) == 0);

    /* Overwrite: a subscriber left behind gets PIPC_LAGGED with the exact count: of indexes
     * 3..7, the topic of capacity 2 still has 7 readable (its other buffer is the publisher's
     * next), so 3..6 are lost, 4 samples, and it resumes at 7: every index accounted for. */
    for (uint64_t i = 2; i < 7; i++) {
        struct Pose v = pose(i);
        EXPECT(pipc_publisher_send(pub, &v, sizeof v, NULL, 0, 0), PIPC_OK);
    }
    EXPECT(pipc_subscriber_recv(sub, &sample, 0), PIPC_LAGGED);
    if (pipc_last_error_count() != 4) {
        fprintf(stderr, "lagged by %llu, not 4: %s\n", (unsigned long long)pipc_last_error_count(),
                pipc_last_error_message());
        failures++;
    }
    EXPECT(pipc_subscriber_recv(sub, &sample, 0), PIPC_OK);
    if (sample.index != 7) {
        fprintf(stderr, "resumed at %llu, not 7\n", (unsigned long long)sample.index);
        failures++;
    }
    EXPECT(pipc_subscriber_release(sub, &sample), PIPC_OK);

    /* Another type under the name is a mismatch. */
    pipc_subscriber wrong;
    pipc_record_type head_as = FRAME_HEAD;
    EXPECT(pipc_subscriber_open(&wrong, topic, &head_as, NULL), PIPC_MISMATCH);

    /* A layout with padding, a fingerprint that is not the layout's. */
    struct Padded {
        uint8_t a;
        uint32_t b;
    };
    static const pipc_field PADDED_FIELDS[] = {
        PIPC_FIELD(struct Padded, a, PIPC_U8),
        PIPC_FIELD(struct Padded, b, PIPC_U32),
    };
    static const pipc_layout PADDED = PIPC_LAYOUT(struct Padded, "Padded", PADDED_FIELDS);
    EXPECT(pipc_layout_fingerprint(&PADDED, &fp), PIPC_INVALID_ARGUMENT);
    EXPECT_MESSAGE("Padded.b");
    pipc_record_type lying = POSE;
    lying.fingerprint = 1;
    EXPECT(pipc_subscriber_open(&wrong, topic, &lying, NULL), PIPC_INVALID_ARGUMENT);
    EXPECT_MESSAGE("fingerprint");

    /* Cancel a blocked receive from another thread, after closing the handle it waits on:
     * the waiting call keeps the subscriber alive and ends with PIPC_CANCELLED. Whether the
     * thread was already waiting when the handle was closed is up to the scheduler (a thread
     * that starts late finds the handle closed: PIPC_BAD_HANDLE, also a right answer), so the
     * scene is played until the thread was waiting, at most 10 times; never a crash or hang. */
    pipc_cancel token;
    int cancelled_while_waiting = 0;
    for (int attempt = 0; attempt < 10 && !cancelled_while_waiting; attempt++) {
        EXPECT(pipc_cancel_new(&token), PIPC_OK);
        pipc_subscribe_options so;
        memset(&so, 0, sizeof so);
        so.cancel = token;
        struct blocked b = {{0}, -1};
        EXPECT(pipc_subscriber_open(&b.sub, topic, &POSE, &so), PIPC_OK);
        pthread_t t;
        pthread_create(&t, NULL, recv_blocked, &b);
        sleep_ms(50);
        EXPECT(pipc_subscriber_close(b.sub), PIPC_OK);
        EXPECT(pipc_cancel_cancel(token), PIPC_OK);
        pthread_join(t, NULL);
        TRUE(b.rc == PIPC_CANCELLED || b.rc == PIPC_BAD_HANDLE);
        cancelled_while_waiting = b.rc == PIPC_CANCELLED;
        TRUE(pipc_cancel_is_cancelled(token) == 1);
        EXPECT(pipc_cancel_close(token), PIPC_OK);
        EXPECT(pipc_cancel_close(token), PIPC_BAD_HANDLE);
    }
    TRUE(cancelled_while_waiting);

    /* Two threads on one subscriber: the second call waits for the first (a receive that
     * times out after 100 ms), then runs. */
    struct blocked c = {{0}, -1};
    EXPECT(pipc_subscriber_open(&c.sub, topic, &POSE, NULL), PIPC_OK);
    pthread_t t2;
    pthread_create(&t2, NULL, recv_short, &c);
    sleep_ms(20);
    size_t max_len = 0;
    EXPECT(pipc_subscriber_sizes(c.sub, &max_len, NULL), PIPC_OK);
    TRUE(max_len == sizeof(struct Pose));
    pthread_join(t2, NULL);
    TRUE(c.rc == PIPC_TIMED_OUT);
    EXPECT(pipc_subscriber_close(c.sub), PIPC_OK);

    /* Closed handles. */
    EXPECT(pipc_subscriber_close(sub), PIPC_OK);
    EXPECT(pipc_subscriber_recv(sub, &sample, 0), PIPC_BAD_HANDLE);
    EXPECT_MESSAGE("closed");
    EXPECT(pipc_subscriber_close(sub), PIPC_BAD_HANDLE);
    EXPECT(pipc_publisher_close(pub), PIPC_OK);
    EXPECT(pipc_publisher_send(pub, &p0, sizeof p0, NULL, 0, 0), PIPC_BAD_HANDLE);
    EXPECT(pipc_topic_unlink(topic), PIPC_OK);
    EXPECT(pipc_topic_unlink(topic), PIPC_NOT_FOUND);

    /* Frames: the header's size, a frame beyond the maximum. */
    pipc_publisher fp_pub;
    EXPECT(pipc_frame_publisher_create_or_take_over(&fp_pub, frames, 1024, &FRAME_HEAD, NULL),
           PIPC_OK);
    char big[2048] = {0};
    struct FrameHead h = {1, 2, 3};
    EXPECT(pipc_publisher_send(fp_pub, big, sizeof big, &h, sizeof h, 0), PIPC_MESSAGE_TOO_LARGE);
    EXPECT_MESSAGE("max_frame_len");
    EXPECT(pipc_publisher_send(fp_pub, big, 10, &h, 3, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_publisher_loan(fp_pub, &loan, 4096, 0, 0), PIPC_MESSAGE_TOO_LARGE);
    EXPECT(pipc_publisher_loan(fp_pub, &loan, 100, 0, 0), PIPC_OK);
    TRUE(loan.capacity == 100 && loan.header_len == sizeof h);
    loan.len = 101;
    EXPECT(pipc_publisher_send_loan(fp_pub, &loan), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_publisher_discard_loan(fp_pub, &loan), PIPC_OK);
    EXPECT(pipc_publisher_close(fp_pub), PIPC_OK); /* owned: removes the topic */
    pipc_subscriber gone;
    EXPECT(pipc_frame_subscriber_open(&gone, frames, &FRAME_HEAD, NULL), PIPC_NOT_FOUND);

    /* Rings and shared structs: one record's length. */
    pipc_ring_sender tx;
    pipc_ring_receiver rx;
    EXPECT(pipc_ring_sender_open(&tx, ring, &POSE, PIPC_CREATE_OR_TAKE_OVER, 3, PIPC_SPSC),
           PIPC_INVALID_ARGUMENT); /* not a power of two */
    EXPECT(pipc_ring_sender_open(&tx, ring, &POSE, PIPC_CREATE_OR_TAKE_OVER, 4, PIPC_SPSC),
           PIPC_OK);
    EXPECT(pipc_ring_receiver_open(&rx, ring, &POSE, PIPC_OPEN, 0, 0), PIPC_OK);
    EXPECT(pipc_ring_send(tx, &p0, 3, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_ring_recv(rx, &got, sizeof got, 0), PIPC_WOULD_BLOCK);
    EXPECT(pipc_ring_send(tx, &p1, sizeof p1, 0), PIPC_OK);
    EXPECT(pipc_ring_recv(rx, &got, sizeof got, 0), PIPC_OK);
    TRUE(memcmp(&got, &p1, sizeof got) == 0);
    EXPECT(pipc_ring_receiver_close(rx), PIPC_OK);
    EXPECT(pipc_ring_sender_close(tx), PIPC_OK);

    pipc_shared sh;
    EXPECT(pipc_shared_open(&sh, shared, &POSE, 7, NULL), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_shared_open(&sh, shared, &POSE, PIPC_CREATE_OR_TAKE_OVER, &p0), PIPC_OK);
    uint64_t version = 99;
    EXPECT(pipc_shared_load(sh, &got, 1, &version), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_shared_store(sh, &p1, sizeof p1), PIPC_OK);
    EXPECT(pipc_shared_load(sh, &got, sizeof got, &version), PIPC_OK);
    TRUE(version == 1 && memcmp(&got, &p1, sizeof got) == 0);
    EXPECT(pipc_shared_wait_change(sh, version, &got, sizeof got, &version, 1000000),
           PIPC_TIMED_OUT);
    EXPECT(pipc_shared_close(sh), PIPC_OK);

    /* The POSIX basics. */
    pipc_semaphore s;
    EXPECT(pipc_semaphore_open(&s, sem, PIPC_O_CREAT | PIPC_O_EXCL, 0, 1), PIPC_OK);
    EXPECT(pipc_semaphore_open(&s, sem, PIPC_O_CREAT | PIPC_O_EXCL, 0, 1), PIPC_ALREADY_EXISTS);
    EXPECT(pipc_semaphore_acquire(s, 0), PIPC_OK);
    EXPECT(pipc_semaphore_acquire(s, 0), PIPC_WOULD_BLOCK);
    EXPECT(pipc_semaphore_release(s), PIPC_OK);
    uint32_t value = 0;
    EXPECT(pipc_semaphore_value(s, &value), PIPC_OK);
    TRUE(value == 1);
    EXPECT(pipc_semaphore_close(s), PIPC_OK);
    EXPECT(pipc_semaphore_unlink(sem), PIPC_OK);

    pipc_shm m;
    void *data = NULL;
    size_t mlen = 0;
    EXPECT(pipc_shm_open(&m, shm, PIPC_O_CREAT | PIPC_O_EXCL, 0, 4096), PIPC_OK);
    EXPECT(pipc_shm_map(m, &data, &mlen), PIPC_OK);
    TRUE(mlen == 4096);
    memcpy(data, "hello", 5);
    pipc_shm m2;
    EXPECT(pipc_shm_open(&m2, shm, 0, 0, 0), PIPC_OK);
    void *data2 = NULL;
    EXPECT(pipc_shm_map(m2, &data2, &mlen), PIPC_OK);
    TRUE(memcmp(data2, "hello", 5) == 0);
    EXPECT(pipc_shm_close(m2), PIPC_OK);
    EXPECT(pipc_shm_close(m), PIPC_OK);
    EXPECT(pipc_shm_unlink(shm), PIPC_OK);

    pipc_mq q;
    EXPECT(pipc_mq_open(&q, mq, PIPC_O_CREAT | PIPC_O_EXCL, 0, 4, 64), PIPC_OK);
    EXPECT(pipc_mq_send(q, "low", 3, 5, 0), PIPC_OK);
    EXPECT(pipc_mq_send(q, "high", 4, 9, 0), PIPC_OK);
    EXPECT(pipc_mq_send(q, big, 65, 1, 0), PIPC_MESSAGE_TOO_LARGE);
    char msg[64];
    uint32_t prio = 0;
    EXPECT(pipc_mq_receive(q, msg, 8, &len, &prio, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_mq_receive(q, msg, sizeof msg, &len, &prio, 0), PIPC_OK);
    TRUE(prio == 9 && len == 4 && memcmp(msg, "high", 4) == 0);
    size_t cur = 0;
    EXPECT(pipc_mq_attributes(q, NULL, NULL, &cur), PIPC_OK);
    TRUE(cur == 1);
    EXPECT(pipc_mq_close(q), PIPC_OK);
    EXPECT(pipc_mq_unlink(mq), PIPC_OK);

    /* Typed queues: the record's length, another type, peers tracked. */
    const char *tq = name_of(8, prefix, "tq");
    pipc_queue qr, qs;
    EXPECT(pipc_queue_open(&qr, tq, &POSE, PIPC_CREATE_OR_TAKE_OVER, 4, 7), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_queue_open(&qr, tq, &POSE, PIPC_CREATE_OR_TAKE_OVER, 4, PIPC_QUEUE_RECEIVER),
           PIPC_OK);
    EXPECT(pipc_queue_open(&qs, tq, &FRAME_HEAD, PIPC_OPEN, 0, PIPC_QUEUE_SENDER), PIPC_MISMATCH);
    EXPECT(pipc_queue_open(&qs, tq, &POSE, PIPC_OPEN, 0, PIPC_QUEUE_SENDER), PIPC_OK);
    EXPECT(pipc_queue_send(qs, &p0, 3, 0, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_queue_send(qs, &p1, sizeof p1, 4, 0), PIPC_OK);
    EXPECT(pipc_queue_recv(qr, &got, 5, &prio, 0), PIPC_INVALID_ARGUMENT);
    EXPECT(pipc_queue_recv(qr, &got, sizeof got, &prio, 0), PIPC_OK);
    TRUE(prio == 4 && memcmp(&got, &p1, sizeof got) == 0);
    EXPECT(pipc_queue_recv(qr, &got, sizeof got, &prio, 0), PIPC_WOULD_BLOCK);
    EXPECT(pipc_queue_close(qs), PIPC_OK);
    EXPECT(pipc_queue_recv(qr, &got, sizeof got, &prio, PIPC_FOREVER), PIPC_DISCONNECTED);
    EXPECT(pipc_queue_close(qr), PIPC_OK); /* owned: removes the queue and its companion */
    EXPECT(pipc_queue_open(&qs, tq, &POSE, PIPC_OPEN, 0, PIPC_QUEUE_SENDER), PIPC_NOT_FOUND);

    pipc_mutex mx;
    int32_t died = -1;
    EXPECT(pipc_mutex_open(&mx, mutex, PIPC_CREATE_OR_TAKE_OVER), PIPC_OK);
    EXPECT(pipc_mutex_lock(mx, 0, &died), PIPC_OK);
    TRUE(died == 0);
    EXPECT(pipc_mutex_lock(mx, 0, &died), PIPC_DEADLOCK);
    EXPECT(pipc_mutex_unlock(mx), PIPC_OK);
    EXPECT(pipc_mutex_unlock(mx), PIPC_PERMISSION_DENIED);
    EXPECT(pipc_mutex_close(mx), PIPC_OK);

    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
