/* A C program whose record type is the one Rust's Pose::c_declaration() wrote (pose_gen.h,
 * made by the test): the struct, its static_asserts, POSE_FINGERPRINT and Pose_type. It
 * publishes `generated NAME N` poses 0..N-1 after a line on stdin. */
#define _POSIX_C_SOURCE 200809L
#include <posix_ipc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pose_gen.h"

int main(int argc, char **argv) {
    if (argc < 3) return 1;
    uint64_t fp = 0;
    if (pipc_layout_fingerprint(&Pose_layout, &fp) != PIPC_OK || fp != POSE_FINGERPRINT) {
        fprintf(stderr, "the layout's fingerprint %llx is not POSE_FINGERPRINT\n",
                (unsigned long long)fp);
        return 2;
    }
    pipc_publisher p;
    if (pipc_publisher_create_or_take_over(&p, argv[1], &Pose_type, NULL) != PIPC_OK) {
        fprintf(stderr, "%s\n", pipc_last_error_message());
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 3;
    unsigned long long n = strtoull(argv[2], NULL, 10);
    for (unsigned long long i = 0; i < n; i++) {
        struct Pose v;
        memset(&v, 0, sizeof v);
        v.seq = i;
        v.stamp = (double)i * 0.5;
        v.points[1].x = (double)i;
        v.flags = (uint32_t)i;
        if (pipc_publisher_send(p, &v, sizeof v, NULL, 0, PIPC_FOREVER) != PIPC_OK) return 4;
    }
    pipc_publisher_close(p);
    printf("published %llu\n", n);
    return 0;
}
