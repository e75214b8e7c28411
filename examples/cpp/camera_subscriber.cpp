// A C++ subscriber of the camera topic (the Rust camera example's, or camera_publisher's):
// waits for the topic, checks every byte of every frame in place, follows publisher
// restarts, rejoins a topic made again, and prints its rate and latency every second and a
// summary on Ctrl-C or SIGTERM (or after --seconds / --frames). Exits 1 if a frame was bad.
#include "camera.hpp"

#include <cstdio>
#include <algorithm>
#include <vector>

#include <unistd.h>

static const char *USAGE =
    "usage: camera_subscriber [--topic NAME] [--seconds S] [--frames N]\n"
    "  checks frames until Ctrl-C or SIGTERM (or S seconds, or N frames); default topic\n"
    "  /posix-ipc-camera\n";

static bool whole(const FrameInfo &info, const uint8_t *data, size_t len) {
    if (len != size_t(info.width) * info.height * 3 || len % 8) return false;
    for (size_t i = 0; i < len / 8; i++) {
        uint64_t w;
        std::memcpy(&w, data + i * 8, 8);
        if (w != pattern(info.number, i)) return false;
    }
    return true;
}

int main(int argc, char **argv) {
    Args args = Args::parse(argc, argv, USAGE);
    uint64_t frames = 0, bytes = 0, bad = 0, lost = 0, restarts = 0;
    auto start = std::chrono::steady_clock::now();
    try {
        auto stop = posix_ipc::CancelToken::stop_on_signals();
        posix_ipc::SubscribeOptions options;
        options.follow_restarts = true;
        options.wait = posix_ipc::forever;
        options.cancel = &stop;
        std::printf("subscriber: pid %d, waiting for topic %s; Ctrl-C or SIGTERM stops it\n",
                    static_cast<int>(getpid()), args.topic.c_str());
        std::fflush(stdout);
        bool done = false;
        while (!done) {
            auto sub = posix_ipc::FrameSubscriber<FrameInfo>::open(args.topic, options);
            std::printf("subscriber: joined %s, frames of up to %zu bytes\n", args.topic.c_str(),
                        sub.max_frame_len());
            std::fflush(stdout);
            std::vector<uint64_t> second;
            auto tick = std::chrono::steady_clock::now();
            for (;;) {
                if ((args.frames && frames >= args.frames) ||
                    (args.seconds > 0 && std::chrono::steady_clock::now() - start >=
                                             std::chrono::duration<double>(args.seconds))) {
                    done = true;
                    break;
                }
                try {
                    if (auto frame = sub.recv(std::chrono::seconds(1))) {
                        const FrameInfo &info = frame.header();
                        second.push_back(now_ns() - info.published_ns);
                        if (!whole(info, frame.data(), frame.size())) {
                            bad++;
                            std::printf("subscriber: frame %llu is bad (%zu bytes)\n",
                                        static_cast<unsigned long long>(info.number), frame.size());
                        }
                        frames++;
                        bytes += frame.size();
                    } else {
                        // Following restarts, a receive waits for the next publisher; but a
                        // publisher that stopped cleanly removed the topic, and its successor
                        // makes a new one under the name: join that.
                        auto st = sub.status();
                        if (!st.publisher_alive && !st.linked) {
                            std::printf("subscriber: topic %s was removed (its publisher "
                                        "stopped); waiting for it to be made again\n",
                                        args.topic.c_str());
                            std::fflush(stdout);
                            break;
                        }
                    }
                } catch (const posix_ipc::Lagged &e) {
                    lost += e.missed();
                } catch (const posix_ipc::Restarted &e) {
                    restarts++;
                    std::printf("subscriber: a new publisher (generation %llu) took the topic over\n",
                                static_cast<unsigned long long>(e.generation()));
                } catch (const posix_ipc::Disconnected &) {
                    std::printf("subscriber: the topic is gone; waiting for it again\n");
                    break; // rejoin
                }
                if (std::chrono::steady_clock::now() - tick >= std::chrono::seconds(1)) {
                    std::sort(second.begin(), second.end());
                    double p50 = second.empty() ? 0 : second[second.size() / 2] / 1e3;
                    std::printf("subscriber: %zu frames/s, latency p50 %.0f us, %llu lost so far\n",
                                second.size(), p50, static_cast<unsigned long long>(lost));
                    std::fflush(stdout);
                    second.clear();
                    tick = std::chrono::steady_clock::now();
                }
            }
        }
    } catch (const posix_ipc::Cancelled &) {
        // Ctrl-C or SIGTERM: the summary below.
    } catch (const posix_ipc::Error &e) {
        std::fprintf(stderr, "subscriber: %s: %s\n", e.code_name(), e.what());
        return 2;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("subscriber: %llu frames (%.1f MB) checked in %.1f s, %llu bad, %llu lost, "
                "%llu restarts followed\n",
                static_cast<unsigned long long>(frames), double(bytes) / 1e6, secs,
                static_cast<unsigned long long>(bad), static_cast<unsigned long long>(lost),
                static_cast<unsigned long long>(restarts));
    return bad ? 1 : 0;
}
