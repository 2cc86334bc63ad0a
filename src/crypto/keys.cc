#include "crypto/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "crypto/keyed_hash.h"
#include "crypto/sodium_init.h"

namespace p4dp::crypto {

namespace {

static_assert(crypto_kdf_KEYBYTES == kKeyBytes);
static_assert(crypto_kdf_BYTES_MIN <= kKeyBytes && kKeyBytes <= crypto_kdf_BYTES_MAX);

// The KDF context shared by every derived key; the purpose is the subkey id.
constexpr char kKdfContext[] = "p4dpkeys";
static_assert(sizeof(kKdfContext) - 1 == crypto_kdf_CONTEXTBYTES);

constexpr std::string_view kKeyCheckMessage = "p4dp key check v1";
constexpr size_t kKeyHexChars = 2 * kKeyBytes;
// A key file holds the hex key and at most a newline; anything longer is rejected.
constexpr size_t kKeyFileBytesMax = kKeyHexChars + 1;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

// Parses exactly kKeyHexChars hex digits into `key`; false (and `key` untouched) otherwise.
bool ParseHexKey(std::string_view hex, Key& key) {
  if (hex.size() != kKeyHexChars) return false;
  std::array<uint8_t, kKeyBytes> bytes;
  size_t bytes_len = 0;
  // With no hex_end, sodium_hex2bin fails unless it consumes all of `hex`.
  const int rc = sodium_hex2bin(bytes.data(), bytes.size(), hex.data(), hex.size(),
                                /*ignore=*/nullptr, &bytes_len, /*hex_end=*/nullptr);
  const bool ok = rc == 0 && bytes_len == kKeyBytes;
  if (ok) key = Key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return ok;
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("cannot write key file " + Quoted(path) + ": " + ErrnoText(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Writes `key`, as hex and a newline, to the open file `fd`, then syncs it.
Status WriteKey(int fd, const std::string& path, const Key& key) {
  // fchmod defeats a umask that would have changed the mode given to open().
  if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) {
    return Status::IoError("cannot chmod key file " + Quoted(path) + ": " + ErrnoText(errno));
  }
  char hex[kKeyHexChars + 1];
  sodium_bin2hex(hex, sizeof(hex), key.bytes().data(), key.bytes().size());
  hex[kKeyHexChars] = '\n';
  Status status = WriteAll(fd, hex, sizeof(hex), path);
  sodium_memzero(hex, sizeof(hex));
  if (status.ok() && ::fsync(fd) != 0) {
    status = Status::IoError("cannot sync key file " + Quoted(path) + ": " + ErrnoText(errno));
  }
  return status;
}

// Makes the new file's directory entry durable, so that a crash cannot lose the key after
// data has been encrypted with it.
Status SyncParentDirectory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError("cannot open directory " + Quoted(dir) + ": " + ErrnoText(errno));
  }
  Status status;
  if (::fsync(fd) != 0) {
    status = Status::IoError("cannot sync directory " + Quoted(dir) + ": " + ErrnoText(errno));
  }
  ::close(fd);
  return status;
}

Status OpenError(const std::string& what, const std::string& path, int error) {
  const std::string message =
      "cannot " + what + " key file " + Quoted(path) + ": " + ErrnoText(error);
  switch (error) {
    case ENOENT: return Status::NotFound(message);
    case EEXIST: return Status::AlreadyExists(message + "; refusing to overwrite it");
    case EACCES: return Status::PermissionDenied(message);
    default: return Status::IoError(message);
  }
}

// Reads up to `capacity` bytes of `fd` into `buffer` and returns how many it read. Callers
// pass one byte more than a valid file holds, so that an overlong file shows as such.
Result<size_t> ReadBounded(int fd, char* buffer, size_t capacity, const std::string& path) {
  size_t size = 0;
  while (size < capacity) {
    const ssize_t n = ::read(fd, buffer + size, capacity - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("cannot read key file " + Quoted(path) + ": " + ErrnoText(errno));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  return size;
}

// Checks the open key file's type and mode, then reads and parses it.
Result<Key> ReadKeyFromOpenFile(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return Status::IoError("cannot stat key file " + Quoted(path) + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("key file " + Quoted(path) + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return Status::PermissionDenied("key file " + Quoted(path) +
                                    " is readable by group or others; chmod 600 it");
  }
  char buffer[kKeyFileBytesMax + 1];
  Result<size_t> size = ReadBounded(fd, buffer, sizeof(buffer), path);
  Result<Key> result = Status::InvalidArgument(
      "key file " + Quoted(path) +
      " must hold exactly 64 hex characters, optionally followed by a newline");
  if (!size.ok()) {
    result = size.status();
  } else {
    std::string_view content(buffer, *size);
    if (content.size() == kKeyHexChars + 1 && content.back() == '\n') content.remove_suffix(1);
    Key key;
    if (ParseHexKey(content, key)) result = key;
  }
  sodium_memzero(buffer, sizeof(buffer));
  return result;
}

}  // namespace

Status WriteNewKeyFile(const std::string& path) {
  internal::EnsureSodiumInitialized();
  return WriteKeyFile(path, Key::Random());
}

Status WriteKeyFile(const std::string& path, const Key& key) {
  internal::EnsureSodiumInitialized();
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) return OpenError("create", path, errno);
  Status status = WriteKey(fd, path, key);
  if (::close(fd) != 0 && status.ok()) {
    status = Status::IoError("cannot close key file " + Quoted(path) + ": " + ErrnoText(errno));
  }
  if (!status.ok()) {
    // The file is ours (O_EXCL) and incomplete: remove it so that a retry can succeed.
    ::unlink(path.c_str());
    return status;
  }
  return SyncParentDirectory(path);
}

Result<Key> ReadKeyFile(const std::string& path) {
  internal::EnsureSodiumInitialized();
  // O_NONBLOCK keeps a FIFO put in place of the key file from blocking the open; it has no
  // effect on regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return OpenError("open", path, errno);
  Result<Key> key = ReadKeyFromOpenFile(fd, path);
  ::close(fd);
  return key;
}

Result<Key> KeyFromEnvironment() {
  internal::EnsureSodiumInitialized();
  const char* value = std::getenv(kMasterKeyEnvironmentVariable);
  if (value == nullptr) {
    return Status::NotFound(std::string("environment variable ") + kMasterKeyEnvironmentVariable +
                            " is not set");
  }
  Key key;
  if (!ParseHexKey(value, key)) {
    return Status::InvalidArgument(std::string("environment variable ") +
                                   kMasterKeyEnvironmentVariable +
                                   " must hold exactly 64 hex characters");
  }
  return key;
}

Key DeriveKey(const Key& master, KeyPurpose purpose) {
  internal::EnsureSodiumInitialized();
  std::array<uint8_t, kKeyBytes> bytes;
  const int rc =
      crypto_kdf_derive_from_key(bytes.data(), bytes.size(), static_cast<uint64_t>(purpose),
                                 kKdfContext, master.bytes().data());
  P4DP_ASSERT(rc == 0);
  Key key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

std::string KeyCheckValue(const Key& master) {
  const Key check_key = DeriveKey(master, KeyPurpose::kKeyCheck);
  const Digest digest = HmacSha256(check_key, kKeyCheckMessage);
  char hex[2 * sizeof(Digest) + 1];
  sodium_bin2hex(hex, sizeof(hex), digest.data(), digest.size());
  return std::string(hex, 2 * sizeof(Digest));
}

namespace {
std::string WrapAd(std::string_view label) { return "p4dp wrapped key v1 " + std::string(label); }
}  // namespace

std::string WrapKey(const Key& master, const Key& key, std::string_view label) {
  const Key wrap = DeriveKey(master, KeyPurpose::kKeyWrap);
  const auto& b = key.bytes();
  std::string sealed = Seal(
      wrap, std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), WrapAd(label));
  std::string hex(2 * sealed.size() + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(sealed.data()),
                 sealed.size());
  hex.pop_back();
  return hex;
}

Result<Key> UnwrapKey(const Key& master, std::string_view wrapped, std::string_view label) {
  internal::EnsureSodiumInitialized();
  std::string sealed(wrapped.size() / 2, '\0');
  size_t n = 0;
  if (wrapped.size() != 2 * (kKeyBytes + kSealOverheadBytes) ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(sealed.data()), sealed.size(), wrapped.data(),
                     wrapped.size(), nullptr, &n, nullptr) != 0 ||
      n != sealed.size()) {
    return Status::Corruption("the wrapped " + std::string(label) + " key is malformed");
  }
  const Key wrap = DeriveKey(master, KeyPurpose::kKeyWrap);
  auto plain = Open(wrap, sealed, WrapAd(label));
  if (!plain.ok() || plain->size() != kKeyBytes) {
    return Status::PermissionDenied("the master key does not unwrap the " + std::string(label) +
                                    " key");
  }
  std::array<uint8_t, kKeyBytes> bytes;
  std::memcpy(bytes.data(), plain->data(), kKeyBytes);
  sodium_memzero(plain->data(), plain->size());
  Key key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

}  // namespace p4dp::crypto
