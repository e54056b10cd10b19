// What signing costs per message: the Signer over a 5 KB message (the size
// bench/peer_relay.sh sends) with RSA-2048, Ed25519, and both (what `serve`
// does for a domain from `rebound domain add`); FromDomain, which runs for
// every message, signed or not.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "dkim/signer.h"

namespace {

std::string KeyPem(int type) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(type, nullptr);
  EVP_PKEY_keygen_init(ctx);
  if (type == EVP_PKEY_RSA) EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048);
  EVP_PKEY_keygen(ctx, &key);
  EVP_PKEY_CTX_free(ctx);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::string Message() {
  std::string m =
      "Received: from client (127.0.0.1) by relay.example.com\r\nFrom: <bench@example.com>\r\n"
      "To: <rcpt@example.net>\r\nDate: Sun, 06 Dec 2026 22:00:00 +0000\r\nMessage-Id: <1@bench.test>\r\n"
      "Subject: bench\r\n\r\n";
  while (m.size() < 5120) m += "La de da de da 1.\r\n";
  return m;
}

struct Fixture {
  std::unique_ptr<rebound::dkim::Signer> signer;
  rebound::dkim::SigningKey rsa{"example.com", "rb-rsa", "rsa-sha256", KeyPem(EVP_PKEY_RSA)};
  rebound::dkim::SigningKey ed{"example.com", "rb-ed25519", "ed25519-sha256", KeyPem(EVP_PKEY_ED25519)};
  std::string message = Message();
  Fixture() { (void)rebound::dkim::Signer::Create(&signer); }
};

Fixture& F() {
  static Fixture f;
  return f;
}

void Sign(benchmark::State& state, const std::vector<rebound::dkim::SigningKey>& keys) {
  for (auto _ : state) {
    std::string out;
    if (!F().signer->Sign(F().message, keys, &out).ok()) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * F().message.size()));
}

void BM_SignRsa2048(benchmark::State& state) { Sign(state, {F().rsa}); }
void BM_SignEd25519(benchmark::State& state) { Sign(state, {F().ed}); }
void BM_SignBoth(benchmark::State& state) { Sign(state, {F().rsa, F().ed}); }
void BM_FromDomain(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(rebound::dkim::FromDomain(F().message));
}

// Process CPU time: the second key of BM_SignBoth is signed on its own thread.
BENCHMARK(BM_SignRsa2048)->Unit(benchmark::kMicrosecond)->MeasureProcessCPUTime();
BENCHMARK(BM_SignEd25519)->Unit(benchmark::kMicrosecond)->MeasureProcessCPUTime();
BENCHMARK(BM_SignBoth)->Unit(benchmark::kMicrosecond)->MeasureProcessCPUTime();
BENCHMARK(BM_FromDomain)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
