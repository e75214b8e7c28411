// What the C++ camera programs share with the Rust camera example (examples/camera.rs): the
// frame header, its description, and the pixel pattern every subscriber checks.
#pragma once

#include <posix_ipc.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

struct FrameInfo {
    uint64_t number;
    uint64_t published_ns; // CLOCK_MONOTONIC, as posix_ipc::now_ns
    uint32_t width;
    uint32_t height;
};
static_assert(sizeof(FrameInfo) == 24, "FrameInfo is the Rust example's 24 bytes");

// The fields by name: padding, or a field left out, would not compile.
POSIX_IPC_RECORD(FrameInfo, number, published_ns, width, height)

/// Word i of frame n's pixels.
inline uint64_t pattern(uint64_t n, uint64_t i) {
    return (n * 0x9e3779b97f4a7c15ull) ^ (i * 0xff51afd7ed558ccdull);
}

/// CLOCK_MONOTONIC in nanoseconds (steady_clock on Linux).
inline uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

/// The command line: --topic NAME --width W --height H --fps F --seconds S --frames N.
struct Args {
    std::string topic = "/posix-ipc-camera";
    uint32_t width = 1920, height = 1080;
    double fps = 60, seconds = 0; // 0: until Ctrl-C or SIGTERM
    uint64_t frames = 0;          // 0: no limit

    static Args parse(int argc, char **argv, const char *usage) {
        Args a;
        for (int i = 1; i < argc; i++) {
            std::string k = argv[i];
            if (k == "-h" || k == "--help") {
                std::fputs(usage, stdout);
                std::exit(0);
            }
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n%s", k.c_str(), usage);
                std::exit(2);
            }
            const char *v = argv[++i];
            if (k == "--topic") a.topic = v;
            else if (k == "--width") a.width = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
            else if (k == "--height") a.height = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
            else if (k == "--fps") a.fps = std::strtod(v, nullptr);
            else if (k == "--seconds") a.seconds = std::strtod(v, nullptr);
            else if (k == "--frames") a.frames = std::strtoull(v, nullptr, 10);
            else {
                std::fprintf(stderr, "unknown option %s\n%s", k.c_str(), usage);
                std::exit(2);
            }
        }
        if (a.width == 0 || a.height == 0 || (size_t(a.width) * a.height * 3) % 8 != 0 ||
            a.fps <= 0) {
            std::fprintf(stderr, "width x height x 3 must be a positive multiple of 8 and "
                                 "fps positive\n");
            std::exit(2);
        }
        return a;
    }
    size_t frame_len() const { return size_t(width) * height * 3; }
};
