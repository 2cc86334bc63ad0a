// Unit tests of the crypto layer's contract: sealing, key derivation, keyed hashing, key
// files, the key environment variable and the key check value.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "crypto/aead.h"
#include "crypto/keyed_hash.h"
#include "crypto/keys.h"

namespace p4dp::crypto {
namespace {

std::string Hex(const Digest& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : digest) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xf];
  }
  return out;
}

bool IsLowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Key FixedKey(uint8_t fill) {
  std::array<uint8_t, kKeyBytes> bytes;
  bytes.fill(fill);
  return Key(bytes);
}

bool SameKey(const Key& a, const Key& b) { return a.bytes() == b.bytes(); }

TEST(AeadTest, RoundTripEmpty) {
  const Key key = Key::Random();
  const std::string sealed = Seal(key, "", "segment 1 block 0");
  EXPECT_EQ(sealed.size(), kSealOverheadBytes);
  Result<std::string> opened = Open(key, sealed, "segment 1 block 0");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "");
}

TEST(AeadTest, RoundTripOneMebibyte) {
  const uint32_t seed = 20240601;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::string plaintext(1 << 20, '\0');
  for (char& c : plaintext) c = static_cast<char>(rng() & 0xff);
  const Key key = Key::Random();
  const std::string sealed = Seal(key, plaintext, "ad");
  EXPECT_EQ(sealed.size(), plaintext.size() + kSealOverheadBytes);
  Result<std::string> opened = Open(key, sealed, "ad");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE(*opened == plaintext);
}

TEST(AeadTest, SealedSizeIsPlaintextPlusForty) {
  EXPECT_EQ(kSealOverheadBytes, 40u);
  const Key key = Key::Random();
  for (size_t n : {0u, 1u, 15u, 16u, 17u, 63u, 64u, 1000u}) {
    EXPECT_EQ(Seal(key, std::string(n, 'x'), "").size(), n + 40) << n;
  }
}

TEST(AeadTest, TwoSealsOfSamePlaintextDiffer) {
  const Key key = Key::Random();
  const std::string a = Seal(key, "same plaintext", "ad");
  const std::string b = Seal(key, "same plaintext", "ad");
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(0, kNonceBytes), b.substr(0, kNonceBytes));
}

TEST(AeadTest, SealedDataDoesNotContainPlaintext) {
  const Key key = Key::Random();
  const std::string plaintext = "a plaintext long enough to notice if it leaked";
  EXPECT_EQ(Seal(key, plaintext, "").find(plaintext), std::string::npos);
}

void ExpectCorruption(const Result<std::string>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("authentication failed"), std::string::npos)
      << r.status().message();
}

TEST(AeadTest, OpenFailsOnEverySingleByteFlip) {
  const Key key = Key::Random();
  const std::string plaintext = "patient event";
  const std::string sealed = Seal(key, plaintext, "segment 7 block 3");
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (int mask : {0x01, 0x80, 0xff}) {
      std::string altered = sealed;
      altered[i] = static_cast<char>(altered[i] ^ mask);
      SCOPED_TRACE("byte " + std::to_string(i) + " mask " + std::to_string(mask));
      Result<std::string> r = Open(key, altered, "segment 7 block 3");
      ExpectCorruption(r);
      if (!r.ok()) {
        EXPECT_EQ(r.status().message().find(plaintext), std::string::npos);
      }
    }
  }
}

TEST(AeadTest, OpenFailsWithWrongKey) {
  const Key key = Key::Random();
  const std::string sealed = Seal(key, "hello", "ad");
  ExpectCorruption(Open(Key::Random(), sealed, "ad"));
}

TEST(AeadTest, OpenFailsWithWrongAssociatedData) {
  const Key key = Key::Random();
  const std::string sealed = Seal(key, "hello", "segment 1 block 0");
  ExpectCorruption(Open(key, sealed, "segment 1 block 1"));
  ExpectCorruption(Open(key, sealed, ""));
}

TEST(AeadTest, OpenFailsOnTruncatedInput) {
  const Key key = Key::Random();
  const std::string sealed = Seal(key, "hello world", "ad");
  for (size_t n = 0; n < sealed.size(); ++n) {
    SCOPED_TRACE("length " + std::to_string(n));
    ExpectCorruption(Open(key, std::string_view(sealed).substr(0, n), "ad"));
  }
  // Dropping bytes from the front shifts the nonce and must fail too.
  ExpectCorruption(Open(key, std::string_view(sealed).substr(1), "ad"));
}

TEST(AeadTest, OpenFailsOnEmptyInput) { ExpectCorruption(Open(Key::Random(), "", "")); }

TEST(AeadTest, RandomKeysDiffer) { EXPECT_FALSE(SameKey(Key::Random(), Key::Random())); }

constexpr KeyPurpose kAllPurposes[] = {KeyPurpose::kSegments,  KeyPurpose::kQuarantine,
                                       KeyPurpose::kPseudonym, KeyPurpose::kKeyCheck,
                                       KeyPurpose::kCatalog,   KeyPurpose::kAudit};

TEST(DeriveKeyTest, Deterministic) {
  const Key master = FixedKey(7);
  for (KeyPurpose purpose : kAllPurposes) {
    EXPECT_TRUE(SameKey(DeriveKey(master, purpose), DeriveKey(master, purpose)));
  }
}

TEST(DeriveKeyTest, DifferentPerPurposeAndFromMaster) {
  const Key master = Key::Random();
  std::set<std::array<uint8_t, kKeyBytes>> seen = {master.bytes()};
  for (KeyPurpose purpose : kAllPurposes) {
    EXPECT_TRUE(seen.insert(DeriveKey(master, purpose).bytes()).second)
        << static_cast<uint64_t>(purpose);
  }
}

TEST(DeriveKeyTest, DifferentPerMaster) {
  for (KeyPurpose purpose : kAllPurposes) {
    EXPECT_FALSE(SameKey(DeriveKey(FixedKey(1), purpose), DeriveKey(FixedKey(2), purpose)));
  }
}

TEST(HmacTest, Rfc4231TestCase1) {
  const std::string key(20, '\x0b');
  EXPECT_EQ(Hex(HmacSha256WithRawKeyForTesting(key, "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacTest, Rfc4231TestCase2) {
  EXPECT_EQ(Hex(HmacSha256WithRawKeyForTesting("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, KeyFormMatchesRawKeyForm) {
  const Key key = Key::Random();
  const std::string raw(reinterpret_cast<const char*>(key.bytes().data()), kKeyBytes);
  EXPECT_EQ(HmacSha256(key, "message"), HmacSha256WithRawKeyForTesting(raw, "message"));
  EXPECT_EQ(HmacSha256(key, ""), HmacSha256WithRawKeyForTesting(raw, ""));
}

TEST(HmacTest, DependsOnKeyAndMessage) {
  const Key a = FixedKey(1);
  const Key b = FixedKey(2);
  EXPECT_EQ(HmacSha256(a, "x"), HmacSha256(a, "x"));
  EXPECT_NE(HmacSha256(a, "x"), HmacSha256(b, "x"));
  EXPECT_NE(HmacSha256(a, "x"), HmacSha256(a, "y"));
}

TEST(KeyedHasherTest, PartBoundariesMatter) {
  const Key key = Key::Random();
  const Digest ab_c = KeyedHasher(key).Add("ab").Add("c").Finish();
  const Digest a_bc = KeyedHasher(key).Add("a").Add("bc").Finish();
  const Digest abc = KeyedHasher(key).Add("abc").Finish();
  EXPECT_NE(ab_c, a_bc);
  EXPECT_NE(ab_c, abc);
  EXPECT_NE(a_bc, abc);
}

TEST(KeyedHasherTest, Deterministic) {
  const Key key = FixedKey(9);
  EXPECT_EQ(KeyedHasher(key).Add("NIR").Add("1234").Finish(),
            KeyedHasher(key).Add("NIR").Add("1234").Finish());
  EXPECT_NE(KeyedHasher(key).Add("x").Finish(), KeyedHasher(FixedKey(10)).Add("x").Finish());
}

TEST(KeyedHasherTest, PartsAreEightByteLittleEndianLengthThenBytes) {
  const Key key = Key::Random();
  std::string framed;
  framed += std::string("\x02\0\0\0\0\0\0\0", 8) + "ab";
  framed += std::string("\x00\0\0\0\0\0\0\0", 8);
  framed += std::string("\x01\0\0\0\0\0\0\0", 8) + "c";
  EXPECT_EQ(KeyedHasher(key).Add("ab").Add("").Add("c").Finish(), HmacSha256(key, framed));
  const std::string long_part(300, 'z');  // 300 = 0x012c
  EXPECT_EQ(KeyedHasher(key).Add(long_part).Finish(),
            HmacSha256(key, std::string("\x2c\x01\0\0\0\0\0\0", 8) + long_part));
  EXPECT_EQ(KeyedHasher(key).Finish(), HmacSha256(key, ""));
}

TEST(KeyedHasherTest, CopyContinuesIndependently) {
  const Key key = Key::Random();
  KeyedHasher prefix(key);
  prefix.Add("source");
  KeyedHasher copy = prefix;
  EXPECT_EQ(copy.Add("1").Finish(), KeyedHasher(key).Add("source").Add("1").Finish());
  EXPECT_EQ(prefix.Add("2").Finish(), KeyedHasher(key).Add("source").Add("2").Finish());
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "p4dp_crypto_test_XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

mode_t FileMode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

void WriteText(const std::string& path, std::string_view text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(KeyFileTest, WriteThenReadGivesSameKey) {
  TempDir dir;
  const std::string path = dir.File("master.key");
  ASSERT_TRUE(WriteNewKeyFile(path).ok());
  EXPECT_EQ(FileMode(path), 0600u);
  const std::string text = ReadText(path);
  ASSERT_EQ(text.size(), 65u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_TRUE(IsLowerHex(std::string_view(text).substr(0, 64)));

  Result<Key> first = ReadKeyFile(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<Key> second = ReadKeyFile(path);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(SameKey(*first, *second));
  // The file holds the key's bytes in hex: a file without the newline reads the same.
  const std::string copy = dir.File("copy.key");
  WriteText(copy, text.substr(0, 64), 0400);
  Result<Key> third = ReadKeyFile(copy);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(SameKey(*first, *third));
}

TEST(KeyFileTest, ModeIs0600EvenWithPermissiveUmask) {
  TempDir dir;
  const mode_t old_umask = ::umask(0);
  const Status status = WriteNewKeyFile(dir.File("k"));
  ::umask(old_umask);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(FileMode(dir.File("k")), 0600u);
}

TEST(KeyFileTest, TwoFilesHoldDifferentKeys) {
  TempDir dir;
  ASSERT_TRUE(WriteNewKeyFile(dir.File("a")).ok());
  ASSERT_TRUE(WriteNewKeyFile(dir.File("b")).ok());
  EXPECT_FALSE(SameKey(*ReadKeyFile(dir.File("a")), *ReadKeyFile(dir.File("b"))));
}

TEST(KeyFileTest, SecondWriteFailsAlreadyExistsAndKeepsKey) {
  TempDir dir;
  const std::string path = dir.File("master.key");
  ASSERT_TRUE(WriteNewKeyFile(path).ok());
  const std::string before = ReadText(path);
  const Status status = WriteNewKeyFile(path);
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
  EXPECT_EQ(ReadText(path), before);
}

TEST(KeyFileTest, GroupOrWorldReadableFileIsRefused) {
  TempDir dir;
  const std::string path = dir.File("master.key");
  ASSERT_TRUE(WriteNewKeyFile(path).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    Result<Key> key = ReadKeyFile(path);
    ASSERT_FALSE(key.ok()) << mode;
    EXPECT_EQ(key.status().code(), StatusCode::kPermissionDenied) << mode;
    EXPECT_NE(key.status().message().find(path), std::string::npos);
    EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos);
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(ReadKeyFile(path).ok());
}

TEST(KeyFileTest, BadContentIsInvalidArgumentWithoutEchoingIt) {
  TempDir dir;
  const std::string path = dir.File("bad.key");
  const std::string hex64(64, 'a');
  const std::string bad_contents[] = {
      "",
      "\n",
      hex64.substr(0, 63),
      hex64.substr(0, 63) + "\n",
      hex64 + "a",
      hex64 + "\n\n",
      hex64 + "\r\n",
      " " + hex64,
      hex64.substr(0, 63) + "g",
      "secretsecret" + hex64.substr(12),
      hex64 + hex64,
  };
  for (const std::string& content : bad_contents) {
    SCOPED_TRACE("content size " + std::to_string(content.size()));
    WriteText(path, content, 0600);
    Result<Key> key = ReadKeyFile(path);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(key.status().message().find(path), std::string::npos);
    EXPECT_EQ(key.status().message().find("secret"), std::string::npos);
    EXPECT_EQ(key.status().message().find("aaaaaaaa"), std::string::npos);
  }
}

TEST(KeyFileTest, UppercaseHexIsAccepted) {
  TempDir dir;
  const std::string path = dir.File("upper.key");
  WriteText(path, std::string(64, 'F') + "\n", 0600);
  Result<Key> key = ReadKeyFile(path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(SameKey(*key, FixedKey(0xff)));
}

TEST(KeyFileTest, MissingFileNamesThePath) {
  TempDir dir;
  const std::string path = dir.File("missing.key");
  Result<Key> key = ReadKeyFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(key.status().code() == StatusCode::kNotFound ||
              key.status().code() == StatusCode::kIoError)
      << key.status().ToString();
  EXPECT_NE(key.status().message().find(path), std::string::npos);
}

TEST(KeyFileTest, DirectoryIsRefused) {
  TempDir dir;
  const std::string path = dir.File("subdir");
  ASSERT_TRUE(std::filesystem::create_directory(path));
  ASSERT_EQ(::chmod(path.c_str(), 0700), 0);
  Result<Key> key = ReadKeyFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find(path), std::string::npos);
}

TEST(KeyFileTest, WriteIntoMissingDirectoryFailsNamingThePath) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/master.key");
  const Status status = WriteNewKeyFile(path);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(path), std::string::npos);
}

// Sets or unsets P4DP_MASTER_KEY for one test and restores the previous value after.
class ScopedMasterKeyVariable {
 public:
  explicit ScopedMasterKeyVariable(const char* value) {
    if (const char* old = std::getenv(kMasterKeyEnvironmentVariable)) old_ = old;
    if (value == nullptr) {
      ::unsetenv(kMasterKeyEnvironmentVariable);
    } else {
      ::setenv(kMasterKeyEnvironmentVariable, value, 1);
    }
  }
  ~ScopedMasterKeyVariable() {
    if (old_) {
      ::setenv(kMasterKeyEnvironmentVariable, old_->c_str(), 1);
    } else {
      ::unsetenv(kMasterKeyEnvironmentVariable);
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(KeyFromEnvironmentTest, ValidValue) {
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  ScopedMasterKeyVariable variable(hex.c_str());
  Result<Key> key = KeyFromEnvironment();
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  for (size_t i = 0; i < kKeyBytes; ++i) EXPECT_EQ(key->bytes()[i], i);
}

TEST(KeyFromEnvironmentTest, InvalidValuesAreNotEchoed) {
  const std::string hex64(64, 'b');
  for (const std::string& value : {std::string(""), hex64.substr(0, 62), hex64 + "bb", hex64 + "\n",
                                   "secretsecret" + hex64.substr(12), hex64.substr(0, 63) + "z"}) {
    ScopedMasterKeyVariable variable(value.c_str());
    Result<Key> key = KeyFromEnvironment();
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(key.status().message().find(kMasterKeyEnvironmentVariable), std::string::npos);
    EXPECT_EQ(key.status().message().find("secret"), std::string::npos);
    EXPECT_EQ(key.status().message().find("bbbbbbbb"), std::string::npos);
  }
}

TEST(KeyFromEnvironmentTest, UnsetIsNotFound) {
  ScopedMasterKeyVariable variable(nullptr);
  Result<Key> key = KeyFromEnvironment();
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kNotFound);
}

TEST(KeyFromEnvironmentTest, SameKeyAsKeyFile) {
  TempDir dir;
  const std::string path = dir.File("master.key");
  ASSERT_TRUE(WriteNewKeyFile(path).ok());
  const std::string hex = ReadText(path).substr(0, 64);
  ScopedMasterKeyVariable variable(hex.c_str());
  EXPECT_TRUE(SameKey(*KeyFromEnvironment(), *ReadKeyFile(path)));
}

TEST(KeyCheckValueTest, EqualForSameKeyDifferentForDifferentKeys) {
  const Key a = Key::Random();
  const Key a_copy(a.bytes());
  const Key b = Key::Random();
  const std::string check = KeyCheckValue(a);
  EXPECT_EQ(check.size(), 64u);
  EXPECT_TRUE(IsLowerHex(check));
  EXPECT_EQ(check, KeyCheckValue(a_copy));
  EXPECT_NE(check, KeyCheckValue(b));
}

TEST(KeyCheckValueTest, IsHmacOfFixedTextUnderDerivedKey) {
  const Key master = FixedKey(3);
  EXPECT_EQ(KeyCheckValue(master),
            Hex(HmacSha256(DeriveKey(master, KeyPurpose::kKeyCheck), "p4dp key check v1")));
  // It reveals neither the master key nor the derived keys' hashes of other purposes.
  EXPECT_NE(KeyCheckValue(master),
            Hex(HmacSha256(DeriveKey(master, KeyPurpose::kSegments), "p4dp key check v1")));
}

}  // namespace
}  // namespace p4dp::crypto
