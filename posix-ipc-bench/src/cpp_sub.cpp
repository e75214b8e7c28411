// The C++ subscriber of the cpp_sub_* rows (posix-ipc-bench/src/cpp.rs), through
// posix_ipc.hpp: `cpp_sub TOPIC rec64|frame1m LATENCIES ROUNDS BURST`. The same work as the
// Rust subscriber of those rows (`--child cpp-rust-sub`):
//
// - latency: LATENCIES samples, each the time from its publication (written in its first
//   bytes) to its receipt; the median is reported;
// - stream: ROUNDS rounds; before each, a line on stdin says the publisher has published
//   BURST samples, which this subscriber then drains, timed from before its first receive to
//   after its last: the cost of taking samples that are there, without the publisher's pace.
//
// Records are read field by field; frames one word per 64-byte line (every line touched, the
// same loads in both languages, no arithmetic a compiler could vectorise differently).
#include <posix_ipc.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

struct Rec64 {
    uint64_t kind;
    uint64_t number;
    uint64_t published_ns;
    uint64_t pad[5];
};
POSIX_IPC_RECORD(Rec64, kind, number, published_ns, pad)

static uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

/// Receives one sample into the guard and gives (publication time, checksum).
template <typename Sub, typename Guard, typename Read>
static bool take(Sub &sub, Guard &g, Read read, uint64_t &published, uint64_t &sum) {
    if (!sub.recv(g, std::chrono::seconds(30))) return false;
    read(g, published, sum);
    return true;
}

template <typename Sub, typename Guard, typename Read>
static int run(Sub &sub, Read read, uint64_t latencies, uint64_t rounds, uint64_t burst) {
    std::printf("joined\n");
    std::fflush(stdout);
    Guard g;
    std::vector<uint64_t> lat;
    uint64_t published = 0, sum = 0, checksum = 0;
    for (uint64_t i = 0; i < latencies; i++) {
        if (!take(sub, g, read, published, sum)) return 3;
        lat.push_back(now_ns() - published);
        checksum ^= sum;
    }
    uint64_t stream_ns = 0;
    char line[64];
    for (uint64_t r = 0; r < rounds; r++) {
        if (!std::fgets(line, sizeof line, stdin)) return 4;
        uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < burst; i++) {
            if (!take(sub, g, read, published, sum)) return 3;
            checksum ^= sum;
        }
        stream_ns += now_ns() - t0;
        std::printf("drained\n");
        std::fflush(stdout);
    }
    std::sort(lat.begin(), lat.end());
    uint64_t median = lat.empty() ? 0 : lat[lat.size() / 2];
    std::printf("latency_ns %llu stream %llu stream_ns %llu checksum %llu\n",
                (unsigned long long)median, (unsigned long long)(rounds * burst),
                (unsigned long long)stream_ns, (unsigned long long)checksum);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 6) return 1;
    std::string topic = argv[1], kind = argv[2];
    uint64_t latencies = std::strtoull(argv[3], nullptr, 10);
    uint64_t rounds = std::strtoull(argv[4], nullptr, 10);
    uint64_t burst = std::strtoull(argv[5], nullptr, 10);
    posix_ipc::SubscribeOptions o;
    o.wait = std::chrono::seconds(10);
    try {
        if (kind == "rec64") {
            auto sub = posix_ipc::Subscriber<Rec64>::open(topic, o);
            auto read = [](posix_ipc::Sample<Rec64> &s, uint64_t &published, uint64_t &sum) {
                published = s->published_ns;
                sum = s->kind ^ s->number;
            };
            return run<decltype(sub), posix_ipc::Sample<Rec64>>(sub, read, latencies, rounds, burst);
        }
        auto sub = posix_ipc::FrameSubscriber<>::open(topic, o);
        auto read = [](posix_ipc::Frame<> &f, uint64_t &published, uint64_t &sum) {
            // Frames start 64-byte aligned in the segment: one word per cache line.
            const uint64_t *words = reinterpret_cast<const uint64_t *>(f.data());
            published = words[2];
            uint64_t x = 0;
            for (size_t i = 0; i < f.size() / 8; i += 8) x ^= words[i];
            sum = x;
        };
        return run<decltype(sub), posix_ipc::Frame<>>(sub, read, latencies, rounds, burst);
    } catch (const posix_ipc::Error &e) {
        std::fprintf(stderr, "cpp_sub: %s\n", e.what());
        return 2;
    }
}
