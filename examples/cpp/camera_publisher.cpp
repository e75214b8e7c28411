// The camera publisher in C++: frames of width x height x 3 bytes at --fps, each after a
// FrameInfo header, on the topic the Rust camera example's subscribers read
// (cargo run --release --example camera -- --role subscriber). It creates the topic or
// takes over the one a killed publisher left, owns it (removes it when it stops), and stops
// on Ctrl-C or SIGTERM (or after --seconds / --frames) with a summary.
#include "camera.hpp"

#include <cstdio>
#include <cstring>
#include <thread>

#include <unistd.h>

static const char *USAGE =
    "usage: camera_publisher [--topic NAME] [--width W] [--height H] [--fps F]\n"
    "                        [--seconds S] [--frames N]\n"
    "  publishes until Ctrl-C or SIGTERM (or S seconds, or N frames); default topic\n"
    "  /posix-ipc-camera, 1920x1080 at 60 fps\n";

int main(int argc, char **argv) {
    Args args = Args::parse(argc, argv, USAGE);
    try {
        auto stop = posix_ipc::CancelToken::stop_on_signals();
        posix_ipc::TopicOptions options;
        options.capacity = 4;
        options.policy = PIPC_OVERWRITE;
        options.max_subscribers = 4;
        auto publisher = posix_ipc::FramePublisher<FrameInfo>::create_or_take_over(
            args.topic, args.frame_len(), options);
        std::printf("publisher: pid %d, topic %s, %ux%u at %.0f fps; Ctrl-C or SIGTERM stops it\n",
                    static_cast<int>(getpid()), args.topic.c_str(), args.width, args.height,
                    args.fps);
        std::fflush(stdout);
        auto period = std::chrono::duration<double>(1.0 / args.fps);
        auto start = std::chrono::steady_clock::now();
        uint64_t n = 0;
        while (!stop.cancelled()) {
            if (args.frames && n >= args.frames) break;
            if (args.seconds > 0 &&
                std::chrono::steady_clock::now() - start >= std::chrono::duration<double>(args.seconds))
                break;
            auto frame = publisher.loan(args.frame_len());
            auto *words = reinterpret_cast<uint64_t *>(frame.data());
            for (size_t i = 0; i < args.frame_len() / 8; i++) words[i] = pattern(n, i);
            frame.header() = FrameInfo{n, now_ns(), args.width, args.height};
            frame.send(args.frame_len());
            n++;
            auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(period * double(n));
            while (!stop.cancelled() && std::chrono::steady_clock::now() < due)
                std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                    due - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
        }
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("publisher: published %llu frames (%.1f MB) in %.1f s; removing %s\n",
                    static_cast<unsigned long long>(n), double(n) * double(args.frame_len()) / 1e6,
                    secs, args.topic.c_str());
        return 0;
    } catch (const posix_ipc::Error &e) {
        std::fprintf(stderr, "publisher: %s: %s\n", e.code_name(), e.what());
        return 1;
    }
}
