// posix_ipc.hpp: C++17 RAII wrappers over the C API of posix_ipc.h (header-only; link with
// -lposix_ipc, or find_package(posix_ipc) and target posix_ipc::posix_ipc).
//
//   struct Pose { uint64_t seq; double x, y; };
//   POSIX_IPC_RECORD(Pose, seq, x, y)      // padding, or a field left out: a compile error
//
//   auto pub = posix_ipc::Publisher<Pose>::create_or_take_over("/pose");
//   pub.send(Pose{1, 0.5, 2.0});
//   auto sub = posix_ipc::Subscriber<Pose>::open("/pose");
//   if (auto sample = sub.recv(std::chrono::seconds(1))) use(sample->x);  // held in place
//
// Errors are exceptions (posix_ipc::Error, with the code and the library's message naming
// the object, the operation and the limit; Lagged, Restarted, Disconnected and Cancelled
// as subclasses), chosen over an expected-style result because std::expected is C++23 and
// the robotics stacks these programs live in (rclcpp among them) report errors by throwing.
// The one outcome that is not an error, nothing arriving in time, is not thrown: a receive
// in place returns an empty guard (false in a test), a copy an empty std::optional. Loans, samples and frames are move-only guards:
// a loan not sent is given back and a sample is released when the guard goes.
#ifndef POSIX_IPC_HPP
#define POSIX_IPC_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "posix_ipc.h"

namespace posix_ipc {

/// A failed call: the status code, the library's message, the count (samples lost for
/// Lagged, the generation for Restarted) and the errno.
class Error : public std::runtime_error {
public:
    Error(int32_t code, const std::string &message, uint64_t count, int32_t sys_errno)
        : std::runtime_error(message), code_(code), count_(count), errno_(sys_errno) {}
    int32_t code() const noexcept { return code_; }
    const char *code_name() const noexcept { return pipc_status_name(code_); }
    uint64_t count() const noexcept { return count_; }
    int32_t sys_errno() const noexcept { return errno_; }

private:
    int32_t code_;
    uint64_t count_;
    int32_t errno_;
};

/// Samples were overwritten before this subscriber read them; missed() says how many. The
/// next receive goes on with the oldest sample still there.
class Lagged : public Error {
public:
    using Error::Error;
    uint64_t missed() const noexcept { return count(); }
};
/// A new publisher took the topic over (the subscriber follows restarts).
class Restarted : public Error {
public:
    using Error::Error;
    uint64_t generation() const noexcept { return count(); }
};
/// The peers are gone and nothing more can arrive.
class Disconnected : public Error {
public:
    using Error::Error;
};
/// A cancel token (or SIGINT/SIGTERM after stop_on_signals) stopped the call.
class Cancelled : public Error {
public:
    using Error::Error;
};

/// Throws the calling thread's last error as the exception of its kind.
[[noreturn]] inline void throw_last(int32_t code) {
    std::string message = pipc_last_error_message();
    uint64_t count = pipc_last_error_count();
    int32_t e = pipc_last_error_errno();
    switch (code) {
    case PIPC_LAGGED: throw Lagged(code, message, count, e);
    case PIPC_RESTARTED: throw Restarted(code, message, count, e);
    case PIPC_DISCONNECTED: throw Disconnected(code, message, count, e);
    case PIPC_CANCELLED: throw Cancelled(code, message, count, e);
    default: throw Error(code, message, count, e);
    }
}

/// Throws unless `rc` is PIPC_OK.
inline void check(int32_t rc) {
    if (rc != PIPC_OK) throw_last(rc);
}

/// Whether `rc` is a timeout (returned as an empty optional); throws other errors.
inline bool timed_out(int32_t rc) {
    if (rc == PIPC_OK) return false;
    if (rc == PIPC_WOULD_BLOCK || rc == PIPC_TIMED_OUT) return true;
    throw_last(rc);
}

using Timeout = std::chrono::nanoseconds;
/// Wait as long as it takes.
constexpr Timeout forever{-1};
/// Do not wait.
constexpr Timeout no_wait{0};

inline int64_t ns(Timeout t) { return t.count() < 0 ? -1 : static_cast<int64_t>(t.count()); }

// ---- Describing records ------------------------------------------------------------------

/// Specialise with POSIX_IPC_DESCRIBE: the layout of a record type.
template <typename T> struct Describe;

namespace detail {
template <typename> inline constexpr bool dependent_false = false;

template <typename F> constexpr uint32_t kind_of() {
    using E = std::remove_cv_t<std::remove_all_extents_t<F>>;
    if constexpr (std::is_same_v<E, uint8_t>) return PIPC_U8;
    else if constexpr (std::is_same_v<E, int8_t>) return PIPC_I8;
    else if constexpr (std::is_same_v<E, uint16_t>) return PIPC_U16;
    else if constexpr (std::is_same_v<E, int16_t>) return PIPC_I16;
    else if constexpr (std::is_same_v<E, uint32_t>) return PIPC_U32;
    else if constexpr (std::is_same_v<E, int32_t>) return PIPC_I32;
    else if constexpr (std::is_same_v<E, uint64_t>) return PIPC_U64;
    else if constexpr (std::is_same_v<E, int64_t>) return PIPC_I64;
    else if constexpr (std::is_same_v<E, float>) return PIPC_F32;
    else if constexpr (std::is_same_v<E, double>) return PIPC_F64;
    else if constexpr (std::is_class_v<E>) return PIPC_STRUCT;
    else static_assert(dependent_false<E>, "record fields are fixed-size integers "
                                           "(uint8_t .. int64_t), float, double, described "
                                           "structs, or fixed arrays of them");
}

template <typename F> const pipc_layout *nested_of() {
    using E = std::remove_cv_t<std::remove_all_extents_t<F>>;
    if constexpr (std::is_class_v<E>) return &Describe<E>::layout();
    else return nullptr;
}
} // namespace detail

/// The record type of a described T (size, the layout's fingerprint, the layout).
template <typename T> const pipc_record_type &record_type() {
    static_assert(std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T>,
                  "a record is a plain struct (trivially copyable, standard layout)");
    static const pipc_record_type type{Describe<T>::layout().name, sizeof(T), 0,
                                       &Describe<T>::layout()};
    return type;
}

/// The fingerprint of a described T: the one #[derive(IpcMessage)] gives the same fields.
template <typename T> uint64_t fingerprint() {
    uint64_t fp = 0;
    check(pipc_layout_fingerprint(&Describe<T>::layout(), &fp));
    return fp;
}

// ---- Cancel tokens -----------------------------------------------------------------------

class CancelToken {
public:
    CancelToken() { check(pipc_cancel_new(&h_)); }
    /// SIGINT and SIGTERM stop every wait of the process; the process-wide token.
    static CancelToken stop_on_signals() {
        pipc_cancel h{0};
        check(pipc_stop_on_signals(&h));
        return CancelToken(h);
    }
    CancelToken(CancelToken &&o) noexcept : h_(std::exchange(o.h_, pipc_cancel{0})) {}
    CancelToken &operator=(CancelToken &&o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    CancelToken(const CancelToken &) = delete;
    CancelToken &operator=(const CancelToken &) = delete;
    ~CancelToken() {
        if (h_.id) pipc_cancel_close(h_);
    }
    void cancel() { check(pipc_cancel_cancel(h_)); }
    void reset() { check(pipc_cancel_reset(h_)); }
    bool cancelled() const { return pipc_cancel_is_cancelled(h_) == 1; }
    pipc_cancel handle() const noexcept { return h_; }

private:
    explicit CancelToken(pipc_cancel h) : h_(h) {}
    pipc_cancel h_{0};
};

// ---- Topics ------------------------------------------------------------------------------

/// How a topic is made (all defaults: PIPC_BLOCK, capacity 16 records / 4 frames, ...).
struct TopicOptions {
    uint32_t capacity = 0;
    uint32_t policy = PIPC_BLOCK;
    uint32_t history = 0;
    uint32_t max_subscribers = 0;
    Timeout stall_timeout{0};
    uint32_t mode = 0;
    const CancelToken *cancel = nullptr;

    pipc_topic_options c() const {
        pipc_topic_options o{};
        o.capacity = capacity;
        o.policy = policy;
        o.history = history;
        o.max_subscribers = max_subscribers;
        o.stall_timeout_ns = stall_timeout.count();
        o.mode = mode;
        o.cancel = cancel ? cancel->handle() : pipc_cancel{0};
        return o;
    }
};

/// How a subscriber joins.
struct SubscribeOptions {
    bool follow_restarts = false;
    Timeout wait{0};
    const CancelToken *cancel = nullptr;
    bool spin = true;

    pipc_subscribe_options c() const {
        pipc_subscribe_options o{};
        o.follow_restarts = follow_restarts;
        o.wait_ns = ns(wait);
        o.cancel = cancel ? cancel->handle() : pipc_cancel{0};
        o.no_spin = !spin;
        return o;
    }
};

/// No frame header (FramePublisher<NoHeader>).
struct NoHeader {};

namespace detail {
/// A publisher handle, closed when it goes.
class PublisherBase {
public:
    PublisherBase(PublisherBase &&o) noexcept : h_(std::exchange(o.h_, pipc_publisher{0})) {}
    PublisherBase &operator=(PublisherBase &&o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    PublisherBase(const PublisherBase &) = delete;
    PublisherBase &operator=(const PublisherBase &) = delete;
    ~PublisherBase() {
        if (h_.id) pipc_publisher_close(h_);
    }
    pipc_publisher handle() const noexcept { return h_; }
    /// The topic's counters as its publisher sees them.
    pipc_topic_status status() const {
        pipc_topic_status st{};
        check(pipc_publisher_status(h_, &st));
        return st;
    }

protected:
    explicit PublisherBase(pipc_publisher h) : h_(h) {}
    pipc_publisher h_{0};
};

class SubscriberBase {
public:
    /// The topic's counters as this subscriber sees them.
    pipc_topic_status status() const {
        pipc_topic_status st{};
        check(pipc_subscriber_status(h_, &st));
        return st;
    }
    SubscriberBase(SubscriberBase &&o) noexcept : h_(std::exchange(o.h_, pipc_subscriber{0})) {}
    SubscriberBase &operator=(SubscriberBase &&o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    SubscriberBase(const SubscriberBase &) = delete;
    SubscriberBase &operator=(const SubscriberBase &) = delete;
    ~SubscriberBase() {
        if (h_.id) pipc_subscriber_close(h_);
    }
    pipc_subscriber handle() const noexcept { return h_; }

protected:
    explicit SubscriberBase(pipc_subscriber h) : h_(h) {}
    /// Receives into a guard of this subscriber (empty, or holding its sample, which the
    /// library releases first).
    template <typename G> bool recv_into_guard(G &guard, Timeout timeout) {
        if (guard.s_.id != 0 && guard.s_.id != h_.id)
            throw Error(PIPC_INVALID_ARGUMENT, "the guard holds another subscriber's sample", 0, 0);
        int32_t rc = pipc_subscriber_recv_next(h_, &guard.sample_, ns(timeout));
        // Whatever happened, what the guard held was released by the library.
        guard.s_ = pipc_subscriber{0};
        if (timed_out(rc)) return false;
        guard.s_ = h_;
        return true;
    }
    pipc_subscriber h_{0};
};

/// A loan out on a publisher: given back unless sent.
class LoanBase {
public:
    LoanBase(LoanBase &&o) noexcept : p_(o.p_), loan_(o.loan_) { o.p_ = pipc_publisher{0}; }
    LoanBase &operator=(LoanBase &&) = delete;
    LoanBase(const LoanBase &) = delete;
    LoanBase &operator=(const LoanBase &) = delete;
    ~LoanBase() {
        if (p_.id) pipc_publisher_discard_loan(p_, &loan_);
    }

protected:
    LoanBase(pipc_publisher p, const pipc_loan &loan) : p_(p), loan_(loan) {}
    /// Sends; on an error (a length beyond the loan) the loan stays out, and goes back when
    /// the guard goes; sending twice is PIPC_BAD_HANDLE.
    void send_len(size_t len) {
        loan_.len = len;
        check(pipc_publisher_send_loan(p_, &loan_));
        p_ = pipc_publisher{0};
    }
    pipc_publisher p_;
    pipc_loan loan_;
};

/// A sample held by a subscriber, or none (after a timeout): released when it goes.
class HeldBase {
public:
    HeldBase() noexcept : s_{0}, sample_{} {} // zero-initialised: recv_next's contract
    /// Whether it holds a sample (false: nothing arrived in time).
    explicit operator bool() const noexcept { return s_.id != 0; }
    HeldBase(HeldBase &&o) noexcept : s_(o.s_), sample_(o.sample_) { o.s_ = pipc_subscriber{0}; }
    HeldBase &operator=(HeldBase &&) = delete;
    HeldBase(const HeldBase &) = delete;
    HeldBase &operator=(const HeldBase &) = delete;
    ~HeldBase() {
        if (s_.id) pipc_subscriber_release(s_, &sample_);
    }
    uint64_t index() const noexcept { return sample_.index; }
    uint64_t published_ns() const noexcept { return sample_.published_ns; }

protected:
    friend class SubscriberBase;
    HeldBase(pipc_subscriber s, const pipc_sample &sample) : s_(s), sample_(sample) {}
    pipc_subscriber s_;
    pipc_sample sample_;
};
} // namespace detail

/// A record loaned from a Publisher<T>: write it in place, then send().
template <typename T> class Loan : public detail::LoanBase {
public:
    T &operator*() noexcept { return *static_cast<T *>(loan_.data); }
    T *operator->() noexcept { return static_cast<T *>(loan_.data); }
    /// Publishes it (no copy).
    void send() { send_len(sizeof(T)); }

private:
    template <typename> friend class Publisher;
    using detail::LoanBase::LoanBase;
};

/// A record received in place, or none if nothing arrived in time (test it: `if (s)`); read
/// it; released when the guard goes.
template <typename T> class Sample : public detail::HeldBase {
public:
    const T &operator*() const noexcept { return *static_cast<const T *>(sample_.data); }
    const T *operator->() const noexcept { return static_cast<const T *>(sample_.data); }

    Sample() = default;

private:
    template <typename> friend class Subscriber;
    using detail::HeldBase::HeldBase;
};

/// The publishing end of a topic of T records.
template <typename T> class Publisher : public detail::PublisherBase {
public:
    /// Creates the topic (exclusive).
    static Publisher create(const std::string &name, const TopicOptions &options = {}) {
        pipc_topic_options o = options.c();
        pipc_publisher h{0};
        check(pipc_publisher_create(&h, name.c_str(), &record_type<T>(), &o));
        return Publisher(h);
    }
    /// Creates the topic, or takes over a stale one of this type and options; the topic goes
    /// with this publisher.
    static Publisher create_or_take_over(const std::string &name,
                                         const TopicOptions &options = {}) {
        pipc_topic_options o = options.c();
        pipc_publisher h{0};
        check(pipc_publisher_create_or_take_over(&h, name.c_str(), &record_type<T>(), &o));
        return Publisher(h);
    }
    /// Opens an existing topic whose publisher is gone.
    static Publisher open(const std::string &name) {
        pipc_publisher h{0};
        check(pipc_publisher_open(&h, name.c_str(), &record_type<T>()));
        return Publisher(h);
    }
    /// A record to write in place (zeroed unless `zeroed` is false).
    Loan<T> loan(bool zeroed = true, Timeout timeout = forever) {
        pipc_loan l{};
        check(pipc_publisher_loan(h_, &l, 0, zeroed, ns(timeout)));
        return Loan<T>(h_, l);
    }
    /// Publishes a copy of `value`.
    void send(const T &value, Timeout timeout = forever) {
        check(pipc_publisher_send(h_, &value, sizeof(T), nullptr, 0, ns(timeout)));
    }

private:
    using detail::PublisherBase::PublisherBase;
};

/// The subscribing end of a topic of T records.
template <typename T> class Subscriber : public detail::SubscriberBase {
public:
    static Subscriber open(const std::string &name, const SubscribeOptions &options = {}) {
        pipc_subscribe_options o = options.c();
        pipc_subscriber h{0};
        check(pipc_subscriber_open(&h, name.c_str(), &record_type<T>(), &o));
        return Subscriber(h);
    }
    /// The next record in place; an empty sample if none came in time. Throws Lagged,
    /// Restarted, Disconnected, Cancelled, Error.
    Sample<T> recv(Timeout timeout = forever) {
        pipc_sample s{};
        if (timed_out(pipc_subscriber_recv(h_, &s, ns(timeout)))) return Sample<T>();
        return Sample<T>(h_, s);
    }
    /// The next record in place into `sample`, releasing the one it held first (one library
    /// call per record, for loops): false, and `sample` empty, if none came in time.
    bool recv(Sample<T> &sample, Timeout timeout = forever) {
        return recv_into_guard(sample, timeout);
    }
    /// The next record copied out, or nothing if none came in time.
    std::optional<T> recv_copy(Timeout timeout = forever) {
        T value;
        size_t len = 0;
        if (timed_out(pipc_subscriber_recv_copy(h_, &value, sizeof(T), &len, nullptr, 0,
                                                nullptr, ns(timeout))))
            return std::nullopt;
        return value;
    }

private:
    using detail::SubscriberBase::SubscriberBase;
};

/// A frame loaned from a FramePublisher<H>: its bytes, its header; send(len).
template <typename H = NoHeader> class FrameLoan : public detail::LoanBase {
public:
    uint8_t *data() noexcept { return static_cast<uint8_t *>(loan_.data); }
    size_t capacity() const noexcept { return loan_.capacity; }
    H &header() noexcept {
        static_assert(!std::is_same_v<H, NoHeader>, "this topic's frames have no header");
        return *static_cast<H *>(loan_.header);
    }
    /// Publishes the first `len` bytes (at most capacity(); more throws and keeps the loan).
    void send(size_t len) { send_len(len); }

private:
    template <typename> friend class FramePublisher;
    using detail::LoanBase::LoanBase;
};

/// A frame received in place.
template <typename H = NoHeader> class Frame : public detail::HeldBase {
public:
    const uint8_t *data() const noexcept { return static_cast<const uint8_t *>(sample_.data); }
    size_t size() const noexcept { return sample_.len; }
    const H &header() const noexcept {
        static_assert(!std::is_same_v<H, NoHeader>, "this topic's frames have no header");
        return *static_cast<const H *>(sample_.header);
    }

    Frame() = default;

private:
    template <typename> friend class FrameSubscriber;
    using detail::HeldBase::HeldBase;
};

namespace detail {
template <typename H> const pipc_record_type *header_type() {
    if constexpr (std::is_same_v<H, NoHeader>) return nullptr;
    else return &record_type<H>();
}
} // namespace detail

/// The publishing end of a topic of frames (byte strings up to a maximum length), each after
/// a header H (NoHeader: none).
template <typename H = NoHeader> class FramePublisher : public detail::PublisherBase {
public:
    static FramePublisher create(const std::string &name, size_t max_frame_len,
                                 const TopicOptions &options = {}) {
        pipc_topic_options o = options.c();
        pipc_publisher h{0};
        check(pipc_frame_publisher_create(&h, name.c_str(), max_frame_len,
                                          detail::header_type<H>(), &o));
        return FramePublisher(h);
    }
    static FramePublisher create_or_take_over(const std::string &name, size_t max_frame_len,
                                              const TopicOptions &options = {}) {
        pipc_topic_options o = options.c();
        pipc_publisher h{0};
        check(pipc_frame_publisher_create_or_take_over(&h, name.c_str(), max_frame_len,
                                                       detail::header_type<H>(), &o));
        return FramePublisher(h);
    }
    static FramePublisher open(const std::string &name) {
        pipc_publisher h{0};
        check(pipc_frame_publisher_open(&h, name.c_str(), detail::header_type<H>()));
        return FramePublisher(h);
    }
    /// A frame of up to `len` bytes (0: the maximum) to write in place; not zeroed unless
    /// asked (it holds an earlier frame's bytes).
    FrameLoan<H> loan(size_t len = 0, bool zeroed = false, Timeout timeout = forever) {
        pipc_loan l{};
        check(pipc_publisher_loan(h_, &l, len, zeroed, ns(timeout)));
        return FrameLoan<H>(h_, l);
    }
    /// Publishes a copy of `len` bytes after a copy of `header`.
    void send(const H &header, const void *data, size_t len, Timeout timeout = forever) {
        const void *h = std::is_same_v<H, NoHeader> ? nullptr : &header;
        size_t hl = std::is_same_v<H, NoHeader> ? 0 : sizeof(H);
        check(pipc_publisher_send(h_, data, len, h, hl, ns(timeout)));
    }
    size_t max_frame_len() const {
        size_t m = 0;
        check(pipc_publisher_sizes(h_, &m, nullptr));
        return m;
    }

private:
    using detail::PublisherBase::PublisherBase;
};

/// The subscribing end of a frame topic.
template <typename H = NoHeader> class FrameSubscriber : public detail::SubscriberBase {
public:
    static FrameSubscriber open(const std::string &name, const SubscribeOptions &options = {}) {
        pipc_subscribe_options o = options.c();
        pipc_subscriber h{0};
        check(pipc_frame_subscriber_open(&h, name.c_str(), detail::header_type<H>(), &o));
        return FrameSubscriber(h);
    }
    /// The next frame in place into `frame`, releasing the one it held first: false, and
    /// `frame` empty, if none came in time.
    bool recv(Frame<H> &frame, Timeout timeout = forever) { return recv_into_guard(frame, timeout); }
    /// The next frame in place; an empty frame if none came in time.
    Frame<H> recv(Timeout timeout = forever) {
        pipc_sample s{};
        if (timed_out(pipc_subscriber_recv(h_, &s, ns(timeout)))) return Frame<H>();
        return Frame<H>(h_, s);
    }
    size_t max_frame_len() const {
        size_t m = 0;
        check(pipc_subscriber_sizes(h_, &m, nullptr));
        return m;
    }

private:
    using detail::SubscriberBase::SubscriberBase;
};

// ---- Rings and shared structs ------------------------------------------------------------

enum class Open : uint32_t { open = PIPC_OPEN, create = PIPC_CREATE, create_or_take_over = PIPC_CREATE_OR_TAKE_OVER };
enum class RingMode : uint32_t { spsc = PIPC_SPSC, mpmc = PIPC_MPMC };

template <typename T> class RingSender {
public:
    static RingSender open(const std::string &name, Open how = Open::open, size_t capacity = 0,
                           RingMode mode = RingMode::spsc) {
        pipc_ring_sender h{0};
        check(pipc_ring_sender_open(&h, name.c_str(), &record_type<T>(),
                                    static_cast<uint32_t>(how), capacity,
                                    static_cast<uint32_t>(mode)));
        return RingSender(h);
    }
    RingSender(RingSender &&o) noexcept : h_(std::exchange(o.h_, pipc_ring_sender{0})) {}
    RingSender &operator=(RingSender &&o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    RingSender(const RingSender &) = delete;
    RingSender &operator=(const RingSender &) = delete;
    ~RingSender() {
        if (h_.id) pipc_ring_sender_close(h_);
    }
    /// Sends, waiting while full; false if it was still full when the timeout ran out.
    bool send(const T &value, Timeout timeout = forever) {
        return !timed_out(pipc_ring_send(h_, &value, sizeof(T), ns(timeout)));
    }

private:
    explicit RingSender(pipc_ring_sender h) : h_(h) {}
    pipc_ring_sender h_{0};
};

template <typename T> class RingReceiver {
public:
    static RingReceiver open(const std::string &name, Open how = Open::open,
                             size_t capacity = 0, RingMode mode = RingMode::spsc) {
        pipc_ring_receiver h{0};
        check(pipc_ring_receiver_open(&h, name.c_str(), &record_type<T>(),
                                      static_cast<uint32_t>(how), capacity,
                                      static_cast<uint32_t>(mode)));
        return RingReceiver(h);
    }
    RingReceiver(RingReceiver &&o) noexcept : h_(std::exchange(o.h_, pipc_ring_receiver{0})) {}
    RingReceiver &operator=(RingReceiver &&o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    RingReceiver(const RingReceiver &) = delete;
    RingReceiver &operator=(const RingReceiver &) = delete;
    ~RingReceiver() {
        if (h_.id) pipc_ring_receiver_close(h_);
    }
    std::optional<T> recv(Timeout timeout = forever) {
        T value;
        if (timed_out(pipc_ring_recv(h_, &value, sizeof(T), ns(timeout)))) return std::nullopt;
        return value;
    }

private:
    explicit RingReceiver(pipc_ring_receiver h) : h_(h) {}
    pipc_ring_receiver h_{0};
};

namespace detail {
template <uint32_t Side> class QueueEnd {
public:
    QueueEnd(QueueEnd &&o) noexcept : h_(std::exchange(o.h_, pipc_queue{0})) {}
    QueueEnd &operator=(QueueEnd &&o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    QueueEnd(const QueueEnd &) = delete;
    QueueEnd &operator=(const QueueEnd &) = delete;
    ~QueueEnd() {
        if (h_.id) pipc_queue_close(h_);
    }
    /// Removes the queue and its companion's names.
    void unlink() { check(pipc_queue_unlink(h_)); }
    pipc_queue handle() const noexcept { return h_; }

protected:
    static pipc_queue open_queue(const std::string &name, const pipc_record_type &type, Open how,
                                 size_t max_messages) {
        pipc_queue h{0};
        check(pipc_queue_open(&h, name.c_str(), &type, static_cast<uint32_t>(how), max_messages,
                              Side));
        return h;
    }
    explicit QueueEnd(pipc_queue h) : h_(h) {}
    pipc_queue h_{0};
};
} // namespace detail

/// The sending end of a typed queue of T (a POSIX message queue with the Rust typed
/// queues' companion: the type is checked, the receivers tracked).
template <typename T> class Sender : public detail::QueueEnd<PIPC_QUEUE_SENDER> {
public:
    static Sender open(const std::string &name, Open how = Open::open, size_t max_messages = 0) {
        return Sender(open_queue(name, record_type<T>(), how, max_messages));
    }
    /// Sends with `priority`, waiting while the queue is full; false if it still was when the
    /// timeout ran out. Throws Disconnected once every receiver has gone.
    bool send(const T &value, uint32_t priority = 0, Timeout timeout = forever) {
        return !timed_out(pipc_queue_send(h_, &value, sizeof(T), priority, ns(timeout)));
    }

private:
    using detail::QueueEnd<PIPC_QUEUE_SENDER>::QueueEnd;
};

/// The receiving end of a typed queue of T.
template <typename T> class Receiver : public detail::QueueEnd<PIPC_QUEUE_RECEIVER> {
public:
    static Receiver open(const std::string &name, Open how = Open::open, size_t max_messages = 0) {
        return Receiver(open_queue(name, record_type<T>(), how, max_messages));
    }
    /// The next message (highest priority first) and its priority; nothing on a timeout.
    /// Throws Disconnected once the queue is empty and every sender has gone.
    std::optional<std::pair<T, uint32_t>> recv(Timeout timeout = forever) {
        T value;
        uint32_t priority = 0;
        if (timed_out(pipc_queue_recv(h_, &value, sizeof(T), &priority, ns(timeout))))
            return std::nullopt;
        return std::make_pair(value, priority);
    }

private:
    using detail::QueueEnd<PIPC_QUEUE_RECEIVER>::QueueEnd;
};

/// One T in shared memory, read without tearing; stores wake the waiters.
template <typename T> class SharedStruct {
public:
    static SharedStruct open(const std::string &name, Open how = Open::open,
                             const T &initial = T{}) {
        pipc_shared h{0};
        check(pipc_shared_open(&h, name.c_str(), &record_type<T>(), static_cast<uint32_t>(how),
                               &initial));
        return SharedStruct(h);
    }
    SharedStruct(SharedStruct &&o) noexcept : h_(std::exchange(o.h_, pipc_shared{0})) {}
    SharedStruct &operator=(SharedStruct &&o) noexcept {
        std::swap(h_, o.h_);
        return *this;
    }
    SharedStruct(const SharedStruct &) = delete;
    SharedStruct &operator=(const SharedStruct &) = delete;
    ~SharedStruct() {
        if (h_.id) pipc_shared_close(h_);
    }
    /// The value and its version.
    std::pair<T, uint64_t> load() const {
        T value;
        uint64_t version = 0;
        check(pipc_shared_load(h_, &value, sizeof(T), &version));
        return {value, version};
    }
    void store(const T &value) { check(pipc_shared_store(h_, &value, sizeof(T))); }
    /// The value and version once the version is not `since`; nothing on a timeout.
    std::optional<std::pair<T, uint64_t>> wait_change(uint64_t since, Timeout timeout = forever) {
        T value;
        uint64_t version = 0;
        if (timed_out(pipc_shared_wait_change(h_, since, &value, sizeof(T), &version, ns(timeout))))
            return std::nullopt;
        return std::make_pair(value, version);
    }

private:
    explicit SharedStruct(pipc_shared h) : h_(h) {}
    pipc_shared h_{0};
};

} // namespace posix_ipc

/// A field of a described struct, its kind taken from its C++ type.
#define POSIX_IPC_FIELD(Type, field)                                                        \
    pipc_field {                                                                            \
        #field, offsetof(Type, field), sizeof(std::declval<Type &>().field),                \
            ::posix_ipc::detail::kind_of<decltype(Type::field)>(),                          \
            ::posix_ipc::detail::nested_of<decltype(Type::field)>()                         \
    }

/// Describes a record type at namespace scope: POSIX_IPC_DESCRIBE(Pose, POSIX_IPC_FIELD(Pose,
/// seq), ...). The fields in declaration order, every one of them.
#define POSIX_IPC_DESCRIBE(Type, ...)                                                       \
    template <> struct posix_ipc::Describe<Type> {                                          \
        static const pipc_layout &layout() {                                                \
            static const pipc_field fields[] = {__VA_ARGS__};                               \
            static const pipc_layout l = PIPC_LAYOUT(Type, #Type, fields);                  \
            return l;                                                                       \
        }                                                                                   \
    };

// ---- POSIX_IPC_RECORD: fields by name, padding refused at compile time -------------------------

#define POSIX_IPC_PP_CAT(a, b) POSIX_IPC_PP_CAT_(a, b)
#define POSIX_IPC_PP_CAT_(a, b) a##b
#define POSIX_IPC_PP_ARG_N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, N, ...) N
#define POSIX_IPC_PP_NARG(...) POSIX_IPC_PP_NARG_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
#define POSIX_IPC_PP_NARG_(...) POSIX_IPC_PP_ARG_N(__VA_ARGS__)
// Each field as M(Type, field), separated by commas (C) or by nothing (S).
#define POSIX_IPC_FE_C_1(M, T, x) M(T, x)
#define POSIX_IPC_FE_S_1(M, T, x) M(T, x)
#define POSIX_IPC_FE_C_2(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_1(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_2(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_1(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_3(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_2(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_3(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_2(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_4(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_3(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_4(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_3(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_5(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_4(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_5(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_4(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_6(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_5(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_6(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_5(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_7(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_6(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_7(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_6(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_8(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_7(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_8(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_7(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_9(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_8(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_9(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_8(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_10(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_9(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_10(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_9(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_11(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_10(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_11(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_10(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_12(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_11(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_12(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_11(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_13(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_12(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_13(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_12(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_14(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_13(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_14(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_13(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_15(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_14(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_15(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_14(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_16(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_15(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_16(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_15(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_17(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_16(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_17(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_16(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_18(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_17(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_18(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_17(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_19(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_18(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_19(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_18(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_20(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_19(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_20(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_19(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_21(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_20(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_21(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_20(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_22(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_21(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_22(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_21(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_23(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_22(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_23(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_22(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_24(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_23(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_24(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_23(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_25(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_24(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_25(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_24(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_26(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_25(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_26(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_25(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_27(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_26(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_27(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_26(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_28(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_27(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_28(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_27(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_29(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_28(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_29(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_28(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_30(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_29(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_30(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_29(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_31(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_30(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_31(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_30(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C_32(M, T, x, ...) M(T, x), POSIX_IPC_FE_C_31(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S_32(M, T, x, ...) M(T, x) POSIX_IPC_FE_S_31(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_C(M, T, ...) POSIX_IPC_PP_CAT(POSIX_IPC_FE_C_, POSIX_IPC_PP_NARG(__VA_ARGS__))(M, T, __VA_ARGS__)
#define POSIX_IPC_FE_S(M, T, ...) POSIX_IPC_PP_CAT(POSIX_IPC_FE_S_, POSIX_IPC_PP_NARG(__VA_ARGS__))(M, T, __VA_ARGS__)
#define POSIX_IPC_PLUS_SIZE(T, x) +sizeof(std::declval<T &>().x)

/// Describes a record type at namespace scope by its fields' names, all of them in declaration
/// order (up to 32): POSIX_IPC_RECORD(Pose, seq, stamp, points). A struct with padding, or a
/// field left out, is a compile error (the fields' sizes must add up to the struct's), as
/// `#[derive(IpcMessage)]` refuses padding in Rust.
#define POSIX_IPC_RECORD(Type, ...)                                                         \
    static_assert(sizeof(Type) == 0 POSIX_IPC_FE_S(POSIX_IPC_PLUS_SIZE, Type, __VA_ARGS__), \
                  #Type " has padding, or POSIX_IPC_RECORD leaves out a field: a record "    \
                  "has no padding (add explicit padding fields) and names every field");    \
    POSIX_IPC_DESCRIBE(Type, POSIX_IPC_FE_C(POSIX_IPC_FIELD, Type, __VA_ARGS__))

#endif // POSIX_IPC_HPP
