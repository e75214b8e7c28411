/* The record types the tests share with Rust: `Pose` (with a nested struct, arrays of
 * structs and of numbers) and a frame header, described to the library with PIPC_FIELD. */
#ifndef TEST_POSE_H
#define TEST_POSE_H

#include <posix_ipc.h>
#include <stdint.h>
#include <string.h>

struct Point {
    double x;
    double y;
};

struct Pose {
    uint64_t seq;
    double stamp;
    struct Point points[2];
    float cov[3];
    uint32_t flags;
};

struct FrameHead {
    uint64_t seq;
    uint32_t width;
    uint32_t height;
};

static const pipc_field POINT_FIELDS[] = {
    PIPC_FIELD(struct Point, x, PIPC_F64),
    PIPC_FIELD(struct Point, y, PIPC_F64),
};
static const pipc_layout POINT_LAYOUT = PIPC_LAYOUT(struct Point, "Point", POINT_FIELDS);

static const pipc_field POSE_FIELDS[] = {
    PIPC_FIELD(struct Pose, seq, PIPC_U64),
    PIPC_FIELD(struct Pose, stamp, PIPC_F64),
    PIPC_STRUCT_FIELD(struct Pose, points, &POINT_LAYOUT),
    PIPC_FIELD(struct Pose, cov, PIPC_F32),
    PIPC_FIELD(struct Pose, flags, PIPC_U32),
};
static const pipc_layout POSE_LAYOUT = PIPC_LAYOUT(struct Pose, "Pose", POSE_FIELDS);
static const pipc_record_type POSE = {"Pose", sizeof(struct Pose), 0, &POSE_LAYOUT};

static const pipc_field HEAD_FIELDS[] = {
    PIPC_FIELD(struct FrameHead, seq, PIPC_U64),
    PIPC_FIELD(struct FrameHead, width, PIPC_U32),
    PIPC_FIELD(struct FrameHead, height, PIPC_U32),
};
static const pipc_layout HEAD_LAYOUT = PIPC_LAYOUT(struct FrameHead, "FrameHead", HEAD_FIELDS);
static const pipc_record_type FRAME_HEAD = {"FrameHead", sizeof(struct FrameHead), 0, &HEAD_LAYOUT};

/* The pose number i, as the Rust side makes it. */
static inline struct Pose pose(uint64_t i) {
    struct Pose p;
    memset(&p, 0, sizeof p);
    p.seq = i;
    p.stamp = (double)i * 0.5;
    for (int k = 0; k < 2; k++) {
        p.points[k].x = (double)i + k;
        p.points[k].y = (double)i - k;
    }
    p.cov[0] = (float)i;
    p.cov[1] = (float)i * 2.0f;
    p.cov[2] = (float)i * 3.0f;
    p.flags = (uint32_t)(i ^ 0xA5A5u);
    return p;
}

/* Frame number i: its length and its bytes. */
static inline size_t frame_len(uint64_t i) { return 1000 + (size_t)((i * 997) % 60000); }
static inline uint8_t frame_byte(uint64_t i, size_t j) { return (uint8_t)((i * 31 + j * 7) & 0xff); }

#endif
