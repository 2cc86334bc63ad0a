// Internal to crypto/: initialises libsodium once per process before any of its functions
// is used. Thread-safe; not for use outside src/crypto/.
#pragma once

namespace p4dp::crypto::internal {

// Calls sodium_init() the first time (later calls return at once); asserts on failure,
// since no key, nonce or hash can be trusted without it.
void EnsureSodiumInitialized();

}  // namespace p4dp::crypto::internal
