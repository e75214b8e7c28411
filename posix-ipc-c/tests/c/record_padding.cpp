// Must not compile: POSIX_IPC_RECORD refuses a struct with padding (PADDED) or a field left
// out (MISSING), as #[derive(IpcMessage)] refuses padding. posix-ipc-c/tests/cpp.rs checks
// that g++ fails with the static_assert's message.
#include <posix_ipc.hpp>

struct Padded {
    uint8_t a;
    uint32_t b;
};
struct Whole {
    uint64_t a;
    uint32_t b;
    uint32_t c;
};

#ifdef PADDED
POSIX_IPC_RECORD(Padded, a, b)
#endif
#ifdef MISSING
POSIX_IPC_RECORD(Whole, a, b)
#endif
#ifdef WHOLE
POSIX_IPC_RECORD(Whole, a, b, c)
#endif

int main() { return 0; }
