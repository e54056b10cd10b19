// dkim_sign_tool: signs the message on stdin with Signer and writes the signed
// message to stdout, so tests in other languages can hand its output to
// independent verifiers. Not installed; tests only.
//
// usage: dkim_sign_tool DOMAIN SELECTOR ALGORITHM KEY.pem [DOMAIN SELECTOR ALGORITHM KEY.pem]...
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "dkim/signer.h"

int main(int argc, char** argv) {
  if (argc < 5 || (argc - 1) % 4 != 0) {
    std::cerr << "usage: dkim_sign_tool DOMAIN SELECTOR ALGORITHM KEY.pem [...] < message\n";
    return 2;
  }
  std::vector<rebound::dkim::SigningKey> keys;
  for (int i = 1; i < argc; i += 4) {
    std::ifstream in(argv[i + 3], std::ios::binary);
    if (!in) {
      std::cerr << "dkim_sign_tool: cannot read " << argv[i + 3] << "\n";
      return 2;
    }
    std::stringstream pem;
    pem << in.rdbuf();
    keys.push_back({argv[i], argv[i + 1], argv[i + 2], pem.str()});
  }
  std::string message((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::unique_ptr<rebound::dkim::Signer> signer;
  rebound::Status s = rebound::dkim::Signer::Create(&signer);
  if (s.ok()) s = signer->SignInPlace(keys, &message);
  if (!s.ok()) {
    std::cerr << "dkim_sign_tool: " << s.message() << "\n";
    return 1;
  }
  std::cout << message;
  return 0;
}
