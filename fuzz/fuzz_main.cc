// Driver for fuzz targets built without libFuzzer (GCC): runs every file of the given corpus
// directories through LLVMFuzzerTestOneInput, then N deterministic mutations of them (byte
// flips, insertions, deletions, splices, CRLF and digit injections). Usage:
//   <target> [--runs=N] [--seed=S] DIR...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  static const char* kTokens[] = {"\r\n", "\r\n\r\n", "0\r\n\r\n", ":", " ", "\t", "chunked",
                                  "Content-Length: ", "Transfer-Encoding: ", "99999999999999999999",
                                  "ffffffffffffffff", "\n", "\r", ";ext=1", "HTTP/1.1", "\x00"};
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng());
        break;
      case 1:
        s.insert(pos, 1, static_cast<char>(rng()));
        break;
      case 2:
        if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
        break;
      case 3: {
        const std::string& other = corpus[rng() % corpus.size()];
        s = s.substr(0, pos) + other.substr(other.empty() ? 0 : rng() % other.size());
        break;
      }
      default: {
        const char* t = kTokens[rng() % (sizeof(kTokens) / sizeof(kTokens[0]))];
        s.insert(pos, t[0] == '\0' ? std::string(1, '\0') : std::string(t));
        break;
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 20000;
  uint64_t seed = 1;
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--runs=", 0) == 0) {
      runs = std::strtol(a.c_str() + 7, nullptr, 10);
    } else if (a.rfind("--seed=", 0) == 0) {
      seed = std::strtoull(a.c_str() + 7, nullptr, 10);
    } else {
      for (const auto& e : std::filesystem::directory_iterator(a)) {
        std::ifstream f(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        corpus.push_back(ss.str());
      }
    }
  }
  if (corpus.empty()) corpus.push_back("");
  for (const auto& c : corpus) Run(c);
  std::mt19937_64 rng(seed);
  for (long i = 0; i < runs; ++i) Run(Mutate(corpus[rng() % corpus.size()], corpus, rng));
  std::printf("fuzz: %zu corpus inputs and %ld mutations ran clean\n", corpus.size(), runs);
  return 0;
}
