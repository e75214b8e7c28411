/*
 * posix_ipc.h: the C API of posix-ipc (libposix_ipc.so / libposix_ipc.a).
 *
 * Topics (publish-subscribe of fixed records and of frames with a header), rings of records,
 * shared structs, robust mutexes, and POSIX semaphores, shared memory and message queues:
 * the same kernel objects, byte for byte, as the Rust crate `posix-ipc` and the Python module
 * `posix_ipc_rs` use.
 *
 * Conventions
 *   - Every function returns a status: PIPC_OK (0) or an error code. On error the calling
 *     thread's last error holds a message naming the object, the operation and the limit
 *     (pipc_last_error_message), and for PIPC_LAGGED the samples lost, for PIPC_RESTARTED the
 *     new publisher's generation (pipc_last_error_count).
 *   - Objects are handles: structs holding an id, passed by value, never pointers. A handle
 *     that is zero, closed, or of another kind gives PIPC_BAD_HANDLE, never a crash.
 *   - Calls on one handle from several threads are safe. A topic end, ring end or typed
 *     queue serves one call at a time (a thread waiting in it holds it: use one handle per
 *     thread); a semaphore, shared struct, mutex, segment or queue serves many at once.
 *   - Timeouts are in nanoseconds: PIPC_FOREVER (negative) waits as long as it takes, 0 does
 *     not wait (PIPC_WOULD_BLOCK), a positive time waits that long (PIPC_TIMED_OUT).
 *   - Every wait can be stopped: give the handle a cancel token (pipc_cancel_new, then the
 *     options' `cancel` field or a *_set_cancel function) and cancel it from another thread,
 *     or call pipc_stop_on_signals once so that SIGINT and SIGTERM stop every wait
 *     (PIPC_CANCELLED).
 *   - Records are plain structs without padding. Describe one with a pipc_layout built by
 *     the PIPC_FIELD macros (offsetof and sizeof, so the compiler's layout is what is
 *     described): the library computes the same fingerprint as #[derive(IpcMessage)] on a
 *     Rust struct of the same fields, checks it against every peer, and stores the layout in
 *     the topics it creates so that tools (posix-ipc topic echo, record) decode them. Rust's
 *     `Layout::c_declaration()` writes such a struct and its pipc_layout for you.
 */
#ifndef POSIX_IPC_H
#define POSIX_IPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes ---------------------------------------------------------------------- */

#define PIPC_OK 0
#define PIPC_NOT_FOUND 1
#define PIPC_ALREADY_EXISTS 2
#define PIPC_CLOSED 3
#define PIPC_PERMISSION_DENIED 4
#define PIPC_WOULD_BLOCK 5
#define PIPC_TIMED_OUT 6
#define PIPC_NOTIFICATION_BUSY 7
#define PIPC_INTERRUPTED 8
#define PIPC_CANCELLED 9
#define PIPC_INVALID_NAME 10
#define PIPC_INVALID_ARGUMENT 11
#define PIPC_LIMIT_EXCEEDED 12
#define PIPC_MESSAGE_TOO_LARGE 13
#define PIPC_OVERFLOW 14
#define PIPC_NO_SPACE 15
#define PIPC_OUT_OF_MEMORY 16
#define PIPC_MISMATCH 17
#define PIPC_WRONG_LENGTH 18
#define PIPC_NOT_INITIALIZED 19
#define PIPC_DISCONNECTED 20
#define PIPC_LAGGED 21
#define PIPC_RESTARTED 22
#define PIPC_UNSUPPORTED 23
#define PIPC_DEADLOCK 24
#define PIPC_NOT_RECOVERABLE 25
#define PIPC_UNTRUSTED 26
#define PIPC_OTHER 27
#define PIPC_BAD_HANDLE 28
#define PIPC_INTERNAL 29

/** The calling thread's last failed status (PIPC_OK if none failed yet). */
int32_t pipc_last_error_code(void);
/** Its message; valid until the thread's next failing call; never NULL. */
const char *pipc_last_error_message(void);
/** For PIPC_LAGGED the samples lost, for PIPC_RESTARTED the new generation, else 0. */
uint64_t pipc_last_error_count(void);
/** The system errno of the last failure, or 0. */
int32_t pipc_last_error_errno(void);
/** "PIPC_LAGGED" for PIPC_LAGGED, and so on; a static string. */
const char *pipc_status_name(int32_t code);
/** The library's version ("0.1.0"); a static string. */
const char *pipc_version(void);

/* ---- Timeouts, flags ------------------------------------------------------------------- */

#define PIPC_FOREVER ((int64_t)-1)
#define PIPC_NO_WAIT ((int64_t)0)

/* Flags of pipc_semaphore_open, pipc_shm_open and pipc_mq_open (posix_ipc's). */
#define PIPC_O_CREAT 0100
#define PIPC_O_EXCL 0200
#define PIPC_O_TRUNC 01000

/* `how` of the *_open functions of rings, shared structs and mutexes. */
#define PIPC_OPEN 0u
#define PIPC_CREATE 1u
#define PIPC_CREATE_OR_TAKE_OVER 2u

/* ---- Handles --------------------------------------------------------------------------- */

typedef struct pipc_publisher { uint64_t id; } pipc_publisher;
typedef struct pipc_subscriber { uint64_t id; } pipc_subscriber;
typedef struct pipc_cancel { uint64_t id; } pipc_cancel;
typedef struct pipc_ring_sender { uint64_t id; } pipc_ring_sender;
typedef struct pipc_ring_receiver { uint64_t id; } pipc_ring_receiver;
typedef struct pipc_shared { uint64_t id; } pipc_shared;
typedef struct pipc_mutex { uint64_t id; } pipc_mutex;
typedef struct pipc_semaphore { uint64_t id; } pipc_semaphore;
typedef struct pipc_shm { uint64_t id; } pipc_shm;
typedef struct pipc_mq { uint64_t id; } pipc_mq;

/* ---- Record types and layouts ---------------------------------------------------------- */

/* Field kinds: the element codes of the layouts stored in segments (posix_ipc::typed::Primitive). */
#define PIPC_U8 1u
#define PIPC_I8 2u
#define PIPC_U16 3u
#define PIPC_I16 4u
#define PIPC_U32 5u
#define PIPC_I32 6u
#define PIPC_U64 7u
#define PIPC_I64 8u
#define PIPC_U128 9u
#define PIPC_I128 10u
#define PIPC_F32 11u
#define PIPC_F64 12u
#define PIPC_STRUCT 13u

struct pipc_layout;

/** One field: name, offsetof, sizeof (an array's whole size), kind, nested layout. */
typedef struct pipc_field {
    const char *name;
    size_t offset;
    size_t size;
    uint32_t kind;
    const struct pipc_layout *nested; /* for PIPC_STRUCT; else NULL */
} pipc_field;

/** A struct: name, sizeof, alignment, fields in declaration order. */
typedef struct pipc_layout {
    const char *name;
    size_t size;
    size_t align;
    size_t field_count;
    const pipc_field *fields;
} pipc_layout;

/** What both ends agree on: size and fingerprint (0: computed from `layout`). */
typedef struct pipc_record_type {
    const char *name;
    size_t size;
    uint64_t fingerprint;
    const pipc_layout *layout; /* NULL: none (then `fingerprint` is needed) */
} pipc_record_type;

/* Marks the descriptors Layout::c_declaration() writes, which a program may not all use. */
#if defined(__GNUC__) || defined(__clang__)
#define PIPC_UNUSED __attribute__((unused))
#else
#define PIPC_UNUSED
#endif

#ifdef __cplusplus
#define PIPC_ALIGNOF(type) alignof(type)
#else
#define PIPC_ALIGNOF(type) _Alignof(type)
#endif

/** A field of a number type (or a fixed array of them): PIPC_FIELD(struct Pose, x, PIPC_F64). */
#define PIPC_FIELD(type, field, kind) \
    { #field, offsetof(type, field), sizeof(((type *)0)->field), (kind), NULL }
/** A field of a nested struct (or a fixed array of them), described by `layout_ptr`. */
#define PIPC_STRUCT_FIELD(type, field, layout_ptr) \
    { #field, offsetof(type, field), sizeof(((type *)0)->field), PIPC_STRUCT, (layout_ptr) }
/** The layout of `type` from an array of its fields. */
#define PIPC_LAYOUT(type, name, fields) \
    { (name), sizeof(type), PIPC_ALIGNOF(type), sizeof(fields) / sizeof((fields)[0]), (fields) }

/** Checks a layout and gives its fingerprint (the one #[derive(IpcMessage)] gives). */
int32_t pipc_layout_fingerprint(const pipc_layout *layout, uint64_t *out);

/* ---- Cancel tokens --------------------------------------------------------------------- */

int32_t pipc_cancel_new(pipc_cancel *out);
/** Stops every wait given this token, now and later, until reset. Not in a signal handler. */
int32_t pipc_cancel_cancel(pipc_cancel token);
int32_t pipc_cancel_reset(pipc_cancel token);
/** 1 if cancelled, else 0. */
int32_t pipc_cancel_is_cancelled(pipc_cancel token);
int32_t pipc_cancel_close(pipc_cancel token);
/** SIGINT and SIGTERM stop every wait of the process; gives the process-wide token. */
int32_t pipc_stop_on_signals(pipc_cancel *out);

/* ---- Topics ---------------------------------------------------------------------------- */

#define PIPC_BLOCK 0u     /* the publisher waits for slow subscribers (up to the stall timeout) */
#define PIPC_OVERWRITE 1u /* the publisher never waits; slow subscribers get PIPC_LAGGED */

/** How a topic is made; zero-initialise for the defaults. */
typedef struct pipc_topic_options {
    uint32_t capacity;        /* samples kept (a power of two); 0: 16 records, 4 frames */
    uint32_t policy;          /* PIPC_BLOCK or PIPC_OVERWRITE */
    uint32_t history;         /* samples a late subscriber gets */
    uint32_t max_subscribers; /* 0: 32 records, 4 frames */
    int64_t stall_timeout_ns; /* 0: 500 ms */
    uint32_t mode;            /* 0: 0600 */
    pipc_cancel cancel;       /* {0}: none */
} pipc_topic_options;

/** How a subscriber joins; zero-initialise for the defaults. */
typedef struct pipc_subscribe_options {
    int32_t follow_restarts; /* go on with a new publisher (PIPC_RESTARTED first) */
    int64_t wait_ns;         /* wait for the topic to exist: 0 no, PIPC_FOREVER, or a time */
    pipc_cancel cancel;      /* {0}: none */
    int32_t no_spin;         /* sleep at once when idle instead of spinning briefly */
} pipc_subscribe_options;

/** A loaned sample: write up to `capacity` bytes at `data` (and the header), set `len`. */
typedef struct pipc_loan {
    void *data;
    size_t len;
    size_t capacity;
    void *header;      /* NULL without a header */
    size_t header_len;
    uint64_t token;    /* the library's */
} pipc_loan;

/** A received sample, held in place until pipc_subscriber_release. */
typedef struct pipc_sample {
    const void *data;
    size_t len;
    const void *header; /* NULL without a header */
    size_t header_len;
    uint64_t index;
    uint64_t published_ns; /* CLOCK_MONOTONIC */
    uint64_t token;        /* the library's */
} pipc_sample;

/* Records of `type`; options may be NULL. create: exclusive; create_or_take_over: takes a
 * stale topic of the same type and options over and owns it (closing removes it); open: an
 * existing topic whose publisher is gone. */
int32_t pipc_publisher_create(pipc_publisher *out, const char *name,
                              const pipc_record_type *type, const pipc_topic_options *options);
int32_t pipc_publisher_create_or_take_over(pipc_publisher *out, const char *name,
                                           const pipc_record_type *type,
                                           const pipc_topic_options *options);
int32_t pipc_publisher_open(pipc_publisher *out, const char *name, const pipc_record_type *type);
/* Frames of up to max_frame_len bytes after a header of `header` (NULL: none). */
int32_t pipc_frame_publisher_create(pipc_publisher *out, const char *name, size_t max_frame_len,
                                    const pipc_record_type *header,
                                    const pipc_topic_options *options);
int32_t pipc_frame_publisher_create_or_take_over(pipc_publisher *out, const char *name,
                                                 size_t max_frame_len,
                                                 const pipc_record_type *header,
                                                 const pipc_topic_options *options);
int32_t pipc_frame_publisher_open(pipc_publisher *out, const char *name,
                                  const pipc_record_type *header);
/** Loans `len` bytes (0: a whole record / the maximum frame), zeroed if `zeroed`. One at a time. */
int32_t pipc_publisher_loan(pipc_publisher publisher, pipc_loan *loan, size_t len, int32_t zeroed,
                            int64_t timeout_ns);
/** Publishes the loan's first loan->len bytes (never more than loaned). */
int32_t pipc_publisher_send_loan(pipc_publisher publisher, pipc_loan *loan);
int32_t pipc_publisher_discard_loan(pipc_publisher publisher, pipc_loan *loan);
/** Publishes a copy; `header` NULL sends a zero header. */
int32_t pipc_publisher_send(pipc_publisher publisher, const void *data, size_t len,
                            const void *header, size_t header_len, int64_t timeout_ns);
/** The largest sample and the header's size (either pointer may be NULL). */
int32_t pipc_publisher_sizes(pipc_publisher publisher, size_t *max_len, size_t *header_len);
int32_t pipc_publisher_close(pipc_publisher publisher);
int32_t pipc_topic_unlink(const char *name);

int32_t pipc_subscriber_open(pipc_subscriber *out, const char *name,
                             const pipc_record_type *type, const pipc_subscribe_options *options);
int32_t pipc_frame_subscriber_open(pipc_subscriber *out, const char *name,
                                   const pipc_record_type *header,
                                   const pipc_subscribe_options *options);
/** The next sample, held in place until released (`sample` is only written). */
int32_t pipc_subscriber_recv(pipc_subscriber subscriber, pipc_sample *sample, int64_t timeout_ns);
/** As pipc_subscriber_recv into a `sample` zero-initialised or filled by the library: the
 * sample it holds is released first (a loop over one pipc_sample: one call per sample). */
int32_t pipc_subscriber_recv_next(pipc_subscriber subscriber, pipc_sample *sample,
                                  int64_t timeout_ns);
int32_t pipc_subscriber_release(pipc_subscriber subscriber, pipc_sample *sample);
/** The next sample copied: capacity >= the largest sample, header_len = the header's size. */
int32_t pipc_subscriber_recv_copy(pipc_subscriber subscriber, void *buf, size_t capacity,
                                  size_t *len, void *header, size_t header_len, uint64_t *index,
                                  int64_t timeout_ns);
int32_t pipc_subscriber_sizes(pipc_subscriber subscriber, size_t *max_len, size_t *header_len);
int32_t pipc_subscriber_close(pipc_subscriber subscriber);

/** A topic's counters as one end sees them. */
typedef struct pipc_topic_status {
    uint64_t published;   /* samples published so far */
    uint64_t pending;     /* subscriber: not read yet; publisher: the most any has not read */
    uint64_t generation;  /* the current (or last) publisher's: 1 for the first */
    uint32_t subscribers; /* joined and alive */
    int32_t publisher_alive;
    int32_t linked;       /* 0 once the topic was removed (open it again to join a new one) */
} pipc_topic_status;

int32_t pipc_subscriber_status(pipc_subscriber subscriber, pipc_topic_status *out);
int32_t pipc_publisher_status(pipc_publisher publisher, pipc_topic_status *out);

/* ---- Rings of records ------------------------------------------------------------------ */

#define PIPC_SPSC 0u
#define PIPC_MPMC 1u

/* how: PIPC_OPEN, PIPC_CREATE or PIPC_CREATE_OR_TAKE_OVER; capacity (a power of two) and
 * mode matter when creating. */
int32_t pipc_ring_sender_open(pipc_ring_sender *out, const char *name,
                              const pipc_record_type *type, uint32_t how, size_t capacity,
                              uint32_t mode);
int32_t pipc_ring_receiver_open(pipc_ring_receiver *out, const char *name,
                                const pipc_record_type *type, uint32_t how, size_t capacity,
                                uint32_t mode);
int32_t pipc_ring_send(pipc_ring_sender sender, const void *data, size_t len, int64_t timeout_ns);
int32_t pipc_ring_recv(pipc_ring_receiver receiver, void *buf, size_t len, int64_t timeout_ns);
int32_t pipc_ring_sender_set_cancel(pipc_ring_sender sender, pipc_cancel token);
int32_t pipc_ring_receiver_set_cancel(pipc_ring_receiver receiver, pipc_cancel token);
int32_t pipc_ring_sender_close(pipc_ring_sender sender);
int32_t pipc_ring_receiver_close(pipc_ring_receiver receiver);

/* ---- Typed queues -------------------------------------------------------------------- */

/* A POSIX message queue whose message is one record, with the companion segment of Rust's
 * Sender<T> / Receiver<T>: the type is checked, peers are tracked (a receiver of an empty
 * queue whose senders are all gone, killed or not, gets PIPC_DISCONNECTED). */
#define PIPC_QUEUE_SENDER 0u
#define PIPC_QUEUE_RECEIVER 1u
#define PIPC_QUEUE_NEITHER 2u

typedef struct pipc_queue { uint64_t id; } pipc_queue;

/* how: PIPC_OPEN, PIPC_CREATE or PIPC_CREATE_OR_TAKE_OVER; side: PIPC_QUEUE_*. */
int32_t pipc_queue_open(pipc_queue *out, const char *name, const pipc_record_type *type,
                        uint32_t how, size_t max_messages, uint32_t side);
int32_t pipc_queue_send(pipc_queue queue, const void *data, size_t len, uint32_t priority,
                        int64_t timeout_ns);
int32_t pipc_queue_recv(pipc_queue queue, void *buf, size_t len, uint32_t *priority,
                        int64_t timeout_ns);
int32_t pipc_queue_set_cancel(pipc_queue queue, pipc_cancel token);
/** Removes the queue and its companion's names. */
int32_t pipc_queue_unlink(pipc_queue queue);
int32_t pipc_queue_close(pipc_queue queue);

/* ---- Shared structs -------------------------------------------------------------------- */

/* how as for rings; `initial` (type->size bytes, NULL: zeros) when creating. */
int32_t pipc_shared_open(pipc_shared *out, const char *name, const pipc_record_type *type,
                         uint32_t how, const void *initial);
int32_t pipc_shared_load(pipc_shared shared, void *buf, size_t len, uint64_t *version);
int32_t pipc_shared_store(pipc_shared shared, const void *data, size_t len);
int32_t pipc_shared_version(pipc_shared shared, uint64_t *out);
/** Waits until the version is not `since`, then copies the value and its version. */
int32_t pipc_shared_wait_change(pipc_shared shared, uint64_t since, void *buf, size_t len,
                                uint64_t *version, int64_t timeout_ns);
int32_t pipc_shared_set_cancel(pipc_shared shared, pipc_cancel token);
int32_t pipc_shared_close(pipc_shared shared);

/* ---- Robust mutex ---------------------------------------------------------------------- */

int32_t pipc_mutex_open(pipc_mutex *out, const char *name, uint32_t how);
/** `*previous_owner_died` (may be NULL): the last holder died holding it. */
int32_t pipc_mutex_lock(pipc_mutex mutex, int64_t timeout_ns, int32_t *previous_owner_died);
int32_t pipc_mutex_unlock(pipc_mutex mutex);
int32_t pipc_mutex_set_cancel(pipc_mutex mutex, pipc_cancel token);
int32_t pipc_mutex_close(pipc_mutex mutex);

/* ---- Semaphores, shared memory, message queues ----------------------------------------- */

int32_t pipc_semaphore_open(pipc_semaphore *out, const char *name, int32_t flags, uint32_t mode,
                            uint32_t initial);
int32_t pipc_semaphore_acquire(pipc_semaphore sem, int64_t timeout_ns);
int32_t pipc_semaphore_release(pipc_semaphore sem);
int32_t pipc_semaphore_value(pipc_semaphore sem, uint32_t *out);
int32_t pipc_semaphore_set_cancel(pipc_semaphore sem, pipc_cancel token);
int32_t pipc_semaphore_close(pipc_semaphore sem);
int32_t pipc_semaphore_unlink(const char *name);

int32_t pipc_shm_open(pipc_shm *out, const char *name, int32_t flags, uint32_t mode, uint64_t size);
/** Maps the segment read-write (until the handle is closed). */
int32_t pipc_shm_map(pipc_shm shm, void **data, size_t *len);
int32_t pipc_shm_size(pipc_shm shm, uint64_t *out);
int32_t pipc_shm_close(pipc_shm shm);
int32_t pipc_shm_unlink(const char *name);

/* max_messages, max_message_size: 0 gives the system's defaults. */
int32_t pipc_mq_open(pipc_mq *out, const char *name, int32_t flags, uint32_t mode,
                     int64_t max_messages, int64_t max_message_size);
int32_t pipc_mq_send(pipc_mq mq, const void *data, size_t len, uint32_t priority,
                     int64_t timeout_ns);
/** capacity >= the queue's message size; len and priority may be NULL. */
int32_t pipc_mq_receive(pipc_mq mq, void *buf, size_t capacity, size_t *len, uint32_t *priority,
                        int64_t timeout_ns);
int32_t pipc_mq_attributes(pipc_mq mq, size_t *max_messages, size_t *max_message_size,
                           size_t *current_messages);
int32_t pipc_mq_set_cancel(pipc_mq mq, pipc_cancel token);
int32_t pipc_mq_close(pipc_mq mq);
int32_t pipc_mq_unlink(const char *name);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* POSIX_IPC_H */
