// The C++ wrappers: typed topics, frames, rings and shared structs with guards and
// exceptions: `cpp_api PREFIX` (a unique name prefix). Prints "fingerprint <hex>" and "ok".
#include <posix_ipc.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

struct Point {
    double x;
    double y;
};
struct Pose {
    uint64_t seq;
    double stamp;
    Point points[2];
    float cov[3];
    uint32_t flags;
};
static_assert(sizeof(Pose) == 64, "Pose is 64 bytes, as in Rust");
struct FrameHead {
    uint64_t seq;
    uint32_t width;
    uint32_t height;
};

// By name (padding refused at compile time), and field by field.
POSIX_IPC_RECORD(Point, x, y)
POSIX_IPC_RECORD(Pose, seq, stamp, points, cov, flags)
POSIX_IPC_DESCRIBE(FrameHead, POSIX_IPC_FIELD(FrameHead, seq), POSIX_IPC_FIELD(FrameHead, width),
                   POSIX_IPC_FIELD(FrameHead, height))

static int failures = 0;
#define TRUE(cond)                                                                        \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "%s:%d: not true: %s\n", __FILE__, __LINE__, #cond);     \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

template <typename E, typename F> static bool throws(F f, int32_t code) {
    try {
        f();
    } catch (const E &e) {
        if (e.code() != code) {
            std::fprintf(stderr, "threw %s, not code %d: %s\n", e.code_name(), code, e.what());
            return false;
        }
        return true;
    }
    return false;
}

static Pose pose(uint64_t i) {
    Pose p{};
    p.seq = i;
    p.stamp = double(i) * 0.5;
    for (int k = 0; k < 2; k++) p.points[k] = Point{double(i) + k, double(i) - k};
    p.cov[0] = float(i);
    p.cov[1] = float(i) * 2.0f;
    p.cov[2] = float(i) * 3.0f;
    p.flags = uint32_t(i ^ 0xA5A5u);
    return p;
}

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    std::string prefix = argv[1];
    std::printf("fingerprint %016llx\n",
                static_cast<unsigned long long>(posix_ipc::fingerprint<Pose>()));
    using namespace std::chrono_literals;
    {
        posix_ipc::TopicOptions o;
        o.capacity = 4;
        o.policy = PIPC_OVERWRITE;
        auto pub = posix_ipc::Publisher<Pose>::create_or_take_over(prefix + "-topic", o);
        auto sub = posix_ipc::Subscriber<Pose>::open(prefix + "-topic");
        TRUE(!sub.recv(posix_ipc::no_wait)); // nothing yet: empty, not thrown
        {
            auto loan = pub.loan();
            loan->seq = 99; // not sent: given back when the guard goes
        }
        {
            auto loan = pub.loan();
            *loan = pose(0);
            loan.send();
            TRUE(throws<posix_ipc::Error>([&] { loan.send(); }, PIPC_BAD_HANDLE));
        }
        pub.send(pose(1));
        {
            auto s = sub.recv(1s);
            TRUE(s && s->seq == 0 && s.index() == 0);
            Pose want = pose(0);
            TRUE(s && std::memcmp(&*s, &want, sizeof(Pose)) == 0);
            // While a sample is held, another receive is refused, not a crash.
            TRUE(throws<posix_ipc::Error>([&] { sub.recv(posix_ipc::no_wait); },
                                          PIPC_INVALID_ARGUMENT));
        }
        auto copy = sub.recv_copy(1s);
        TRUE(copy && copy->seq == 1);
        for (uint64_t i = 2; i < 9; i++) pub.send(pose(i));
        bool lagged = false;
        try {
            sub.recv(1s);
        } catch (const posix_ipc::Lagged &e) {
            lagged = e.missed() == 4; // 2..5 overwritten (the topic keeps 3 readable of 4)
            if (!lagged) std::fprintf(stderr, "lagged by %llu\n", (unsigned long long)e.missed());
        }
        TRUE(lagged);
        auto next = sub.recv(1s);
        TRUE(next && next->seq == 6);
        TRUE(pub.status().published == 9 && sub.status().subscribers == 1);
        // Another type under the name.
        TRUE(throws<posix_ipc::Error>(
            [&] { posix_ipc::Subscriber<FrameHead>::open(prefix + "-topic"); }, PIPC_MISMATCH));
    }
    {
        // The owned topic went with its publisher: a subscriber finds nothing.
        TRUE(throws<posix_ipc::Error>(
            [&] { posix_ipc::Subscriber<Pose>::open(prefix + "-topic"); }, PIPC_NOT_FOUND));
    }
    {
        auto pub = posix_ipc::FramePublisher<FrameHead>::create_or_take_over(prefix + "-frames", 4096);
        auto sub = posix_ipc::FrameSubscriber<FrameHead>::open(prefix + "-frames");
        TRUE(sub.max_frame_len() == 4096);
        auto frame = pub.loan(100);
        std::memset(frame.data(), 7, 100);
        frame.header() = FrameHead{5, 10, 10};
        TRUE(throws<posix_ipc::Error>([&] { frame.send(101); }, PIPC_INVALID_ARGUMENT));
        frame.send(50);
        auto got = sub.recv(1s);
        TRUE(got && got.size() == 50 && got.data()[49] == 7 && got.header().seq == 5);
        char big[5000] = {};
        TRUE(throws<posix_ipc::Error>([&] { pub.send(FrameHead{}, big, sizeof big); },
                                      PIPC_MESSAGE_TOO_LARGE));
    }
    {
        // A publisher closed while its subscriber reads: the rest, then Disconnected.
        auto sub_topic = prefix + "-end";
        auto pub = std::make_unique<posix_ipc::Publisher<Pose>>(
            posix_ipc::Publisher<Pose>::create_or_take_over(sub_topic));
        auto sub = posix_ipc::Subscriber<Pose>::open(sub_topic);
        pub->send(pose(1));
        pub.reset();
        {
            auto last = sub.recv(1s);
            TRUE(last && last->seq == 1);
        }
        TRUE(throws<posix_ipc::Disconnected>([&] { sub.recv(1s); }, PIPC_DISCONNECTED));
    }
    {
        posix_ipc::CancelToken token;
        posix_ipc::SubscribeOptions so;
        so.cancel = &token;
        auto pub = posix_ipc::Publisher<Pose>::create_or_take_over(prefix + "-cancel");
        auto sub = posix_ipc::Subscriber<Pose>::open(prefix + "-cancel", so);
        std::thread stopper([&] {
            std::this_thread::sleep_for(50ms);
            token.cancel();
        });
        TRUE(throws<posix_ipc::Cancelled>([&] { sub.recv(posix_ipc::forever); }, PIPC_CANCELLED));
        stopper.join();
    }
    {
        auto tx = posix_ipc::RingSender<Pose>::open(prefix + "-ring", posix_ipc::Open::create_or_take_over, 4);
        auto rx = posix_ipc::RingReceiver<Pose>::open(prefix + "-ring");
        TRUE(!rx.recv(posix_ipc::no_wait));
        for (uint64_t i = 0; i < 4; i++) TRUE(tx.send(pose(i), posix_ipc::no_wait));
        TRUE(!tx.send(pose(4), 1ms)); // full: false, not thrown
        for (uint64_t i = 0; i < 4; i++) {
            auto v = rx.recv(1s);
            TRUE(v && v->seq == i);
        }
    }
    {
        auto sh = posix_ipc::SharedStruct<Pose>::open(prefix + "-shared", posix_ipc::Open::create_or_take_over, pose(0));
        auto [v0, ver0] = sh.load();
        TRUE(v0.seq == 0 && ver0 == 0);
        sh.store(pose(3));
        auto changed = sh.wait_change(ver0, 1s);
        TRUE(changed && changed->first.seq == 3 && changed->second == 1);
        TRUE(!sh.wait_change(1, 1ms));
    }
    {
        auto rx = posix_ipc::Receiver<Pose>::open(prefix + "-queue", posix_ipc::Open::create_or_take_over, 4);
        {
            auto tx = posix_ipc::Sender<Pose>::open(prefix + "-queue");
            TRUE(tx.send(pose(1), 1));
            TRUE(tx.send(pose(2), 9));
            auto first = rx.recv(1s);
            TRUE(first && first->first.seq == 2 && first->second == 9);
        }
        auto second = rx.recv(1s);
        TRUE(second && second->first.seq == 1);
        // The only sender has gone and the queue is empty: Disconnected, not a wait.
        TRUE(throws<posix_ipc::Disconnected>([&] { rx.recv(posix_ipc::forever); }, PIPC_DISCONNECTED));
    }
    if (failures) {
        std::fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    std::printf("ok\n");
    return 0;
}
