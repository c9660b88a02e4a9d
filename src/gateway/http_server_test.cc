// The HTTP/1.1 request parser and the server's framing, over real sockets: pipelining, chunked
// bodies, 100-continue, split delivery, limits and malformed requests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gateway/http_server.h"
#include "gateway/internal/http_parser.h"

namespace sluice::gateway {
namespace {

using internal::ChunkedDecoder;
using internal::ParseError;
using internal::ParseRequestHead;
using internal::ParseResult;
using internal::RequestHead;

ParseResult Parse(std::string_view in, RequestHead& head, ParseError& err, size_t max = 8192) {
  size_t scanned = 0;
  return ParseRequestHead(in, max, scanned, head, err);
}

TEST(HttpParserTest, ParsesHeadAndFraming) {
  RequestHead h;
  ParseError e;
  std::string in =
      "\r\nPOST /v1/topics/t/events?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length:  12 \r\n"
      "X-Empty:\r\nConnection: keep-alive, Upgrade\r\n\r\nbody";
  ASSERT_EQ(Parse(in, h, e), ParseResult::kDone) << e.message;
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/v1/topics/t/events?x=1");
  EXPECT_EQ(h.version, 11u);
  ASSERT_EQ(h.headers.size(), 4u);
  EXPECT_EQ(h.headers[1].first, "Content-Length");
  EXPECT_EQ(h.headers[1].second, "12");
  EXPECT_EQ(h.headers[2].second, "");
  EXPECT_TRUE(h.has_content_length);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(in.substr(h.size), "body");
}

TEST(HttpParserTest, KeepAliveFollowsVersionAndConnection) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", h, e), ParseResult::kDone);
  EXPECT_FALSE(h.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", h, e), ParseResult::kDone);
  EXPECT_TRUE(h.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", h, e),
            ParseResult::kDone);
  EXPECT_FALSE(h.keep_alive);
}

TEST(HttpParserTest, NeedsMoreUntilTheBlankLineAndScansLinearly) {
  std::string in = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestHead h;
  ParseError e;
  size_t scanned = 0;
  for (size_t n = 0; n < in.size(); ++n) {
    ASSERT_EQ(ParseRequestHead(std::string_view(in).substr(0, n), 8192, scanned, h, e),
              ParseResult::kNeedMore)
        << n;
  }
  ASSERT_EQ(ParseRequestHead(in, 8192, scanned, h, e), ParseResult::kDone);
  EXPECT_EQ(h.target, "/x");
}

TEST(HttpParserTest, RefusesMalformedAndSmugglingShapes) {
  struct Case {
    const char* in;
    int status;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},            // space before colon
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},     // obs-fold
      {"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       501},
      {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nExpect: teapot\r\n\r\n", 417},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / HTTX/1.1\r\n\r\n", 400},
      {"GET /a b HTTP/1.1\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\n\r\n", 400},
      {"GET  HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    RequestHead h;
    ParseError e;
    EXPECT_EQ(Parse(c.in, h, e), ParseResult::kError) << c.in;
    EXPECT_EQ(e.status, c.status) << c.in << ": " << e.message;
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(HttpParserTest, Http11NeedsExactlyOneHostAndHttp10None) {
  RequestHead h;
  ParseError e;
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", h, e), ParseResult::kError);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.message.find("Host"), std::string::npos) << e.message;
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", h, e), ParseResult::kError);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(Parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", h, e), ParseResult::kError);
  EXPECT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", h, e), ParseResult::kDone) << e.message;
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHOST: a\r\n\r\n", h, e), ParseResult::kDone) << e.message;
}

TEST(HttpParserTest, AbsoluteFormTargetIsReducedToPathAndQuery) {
  struct Case {
    const char* target;
    const char* want;
  };
  const Case cases[] = {
      {"http://x/health/live", "/health/live"},
      {"HTTPS://127.0.0.1:8080/v1/topics?internal=true", "/v1/topics?internal=true"},
      {"http://x", ""},            // the server reads an empty path as "/"
      {"http://x?a=1", "?a=1"},
      {"/plain?x=http://y/z", "/plain?x=http://y/z"},  // origin-form untouched
  };
  for (const auto& c : cases) {
    RequestHead h;
    ParseError e;
    std::string in = std::string("GET ") + c.target + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(Parse(in, h, e), ParseResult::kDone) << c.target << ": " << e.message;
    EXPECT_EQ(h.target, c.want) << c.target;
  }
}

TEST(HttpParserTest, HeadLimit) {
  RequestHead h;
  ParseError e;
  std::string in = "GET / HTTP/1.1\r\nA: " + std::string(200, 'x');
  EXPECT_EQ(Parse(in, h, e, 100), ParseResult::kError);
  EXPECT_EQ(e.status, 431);
  EXPECT_EQ(Parse(in + "\r\n\r\n", h, e, 100), ParseResult::kError);
  EXPECT_EQ(e.status, 431);
}

TEST(HttpParserTest, ChunkedBodyInAnySplit) {
  std::string in = "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t split = 0; split <= in.size(); ++split) {
    ChunkedDecoder d(1000);
    std::string body;
    ParseError e;
    size_t used = 0;
    std::string pending(in.substr(0, split));
    auto r = d.Feed(pending, body, used, e);
    ASSERT_NE(r, ParseResult::kError) << e.message;
    std::string rest;
    if (r == ParseResult::kNeedMore) {
      pending = pending.substr(used) + in.substr(split);
      r = d.Feed(pending, body, used, e);
      rest = pending.substr(used);
    } else {
      rest = pending.substr(used) + in.substr(split);
    }
    ASSERT_EQ(r, ParseResult::kDone) << split;
    EXPECT_EQ(body, "hello0123456789");
    EXPECT_EQ(rest, "NEXT") << split;
  }
}

TEST(HttpParserTest, ChunkedErrors) {
  auto err = [](std::string in, uint64_t max = 1000) {
    ChunkedDecoder d(max);
    std::string body;
    ParseError e;
    size_t used = 0;
    EXPECT_EQ(d.Feed(in, body, used, e), ParseResult::kError) << in;
    return e.status;
  };
  EXPECT_EQ(err("zz\r\n"), 400);
  EXPECT_EQ(err("5\r\nhelloXX"), 400);
  EXPECT_EQ(err("ffffffffffffffffff\r\n"), 400);
  EXPECT_EQ(err("10\r\n", 8), 413);
  EXPECT_EQ(err(std::string(5000, '1')), 400);
}

// --- Over real sockets -----------------------------------------------------------------------

// Every server test runs twice: responses sent one sendmsg each, and batched per event-loop turn
// through io_uring (SendBatcher; the same as the first where io_uring is unavailable).
class ServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    shards_.Start();
    Router router;
    router.Add("POST", "/echo", [](HttpRequest& r) -> Task<HttpResponse> {
      co_return HttpResponse::Json(200, "{\"len\":" + std::to_string(r.body.size()) +
                                            ",\"ct\":\"" + std::string(r.Header("content-type")) +
                                            "\",\"body\":\"" + r.body + "\"}");
    });
    router.Add("GET", "/hi", [](HttpRequest&) -> Task<HttpResponse> {
      co_return HttpResponse::Json(200, "{\"hi\":1}");
    });
    router.Add("GET", "/big", [](HttpRequest&) -> Task<HttpResponse> {
      std::string body(kBigBytes, 'b');
      for (size_t i = 0; i < body.size(); i += 4096) body[i] = static_cast<char>('0' + i / 4096 % 10);
      co_return HttpResponse::Json(200, std::move(body));
    });
    HttpServerOptions o;
    o.batch_sends = GetParam();
    o.port = 0;
    o.max_body_bytes = 100;
    o.max_header_bytes = 1024;
    auto s = HttpServer::Start(o, std::move(router), shards_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  void TearDown() override {
    server_->Stop();
    shards_.Stop();
  }

  int Connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }
  static void Send(int fd, std::string_view s) {
    ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  // Reads until `n` complete responses (by Content-Length) arrived or the peer closed.
  static std::string ReadResponses(int fd, int n, bool* closed = nullptr) {
    std::string got;
    char buf[4096];
    for (;;) {
      int complete = 0;
      size_t pos = 0;
      for (;;) {
        size_t end = got.find("\r\n\r\n", pos);
        if (end == std::string::npos) break;
        size_t cl = 0;
        size_t p = got.find("Content-Length: ", pos);
        if (p != std::string::npos && p < end) cl = std::stoul(got.substr(p + 16));
        if (got.size() < end + 4 + cl) break;
        pos = end + 4 + cl;
        ++complete;
      }
      if (complete >= n) return got;
      ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
      // A signal meant for the server's threads may land on this one (one run in ten of the
      // batched sends saw EINTR here): not a close.
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (closed != nullptr) *closed = true;
        return got;
      }
      got.append(buf, static_cast<size_t>(r));
    }
  }
  static int Count(const std::string& s, std::string_view what) {
    int n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
  }

  static constexpr size_t kBigBytes = 8 << 20;
  runtime::Shards shards_{2};
  std::unique_ptr<HttpServer> server_;
};

INSTANTIATE_TEST_SUITE_P(Sends, ServerTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Batched" : "Direct"; });

TEST_P(ServerTest, PipelinedRequestsAnswerInOrder) {
  int fd = Connect();
  Send(fd,
       "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
       "GET /hi HTTP/1.1\r\nHost: a\r\n\r\n"
       "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/x\r\nContent-Length: 2\r\n\r\nzz");
  std::string r = ReadResponses(fd, 3);
  EXPECT_EQ(Count(r, "HTTP/1.1 200 OK"), 3) << r;
  size_t a = r.find("\"body\":\"abc\""), b = r.find("{\"hi\":1}"), c = r.find("\"body\":\"zz\"");
  ASSERT_NE(a, std::string::npos) << r;
  ASSERT_NE(b, std::string::npos) << r;
  ASSERT_NE(c, std::string::npos) << r;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(r.find("\"ct\":\"text/x\""), std::string::npos);
  ::close(fd);
}

TEST_P(ServerTest, ByteByByteDeliveryAndChunkedBody) {
  int fd = Connect();
  std::string req =
      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  for (char ch : req) Send(fd, std::string_view(&ch, 1));
  std::string r = ReadResponses(fd, 1);
  EXPECT_NE(r.find("\"body\":\"abcde\""), std::string::npos) << r;
  ::close(fd);
}

TEST_P(ServerTest, ExpectContinueGetsInterimResponse) {
  int fd = Connect();
  Send(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  char buf[64];
  ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  Send(fd, "wxyz");
  std::string r = ReadResponses(fd, 1);
  EXPECT_NE(r.find("\"body\":\"wxyz\""), std::string::npos) << r;
  ::close(fd);
}

TEST_P(ServerTest, LimitsAndMalformedRequestsGetErrorsAndClose) {
  struct Case {
    std::string in;
    std::string status_line;
  };
  const Case cases[] = {
      {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", "HTTP/1.1 413"},
      {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n",
       "HTTP/1.1 413"},
      {"GET /hi HTTP/1.1\r\nX: " + std::string(2000, 'y') + "\r\n\r\n", "HTTP/1.1 431"},
      {"GET /hi HTTP/1.1\r\nBad Header: 1\r\n\r\n", "HTTP/1.1 400"},
      {"GET /hi HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br\r\n\r\n", "HTTP/1.1 501"},
      {"GET /hi HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},  // no Host
      {"\x16\x03\x01\x02\x05\x01\x07\x01\xfc\x03\x03\r\n\r\n", "HTTP/1.1 400"},  // binary junk
  };
  for (const auto& c : cases) {
    int fd = Connect();
    Send(fd, c.in);
    bool closed = false;
    std::string r = ReadResponses(fd, 2, &closed);
    EXPECT_EQ(r.rfind(c.status_line, 0), 0u) << c.in.substr(0, 60) << " -> " << r;
    EXPECT_NE(r.find("\"error_code\""), std::string::npos) << r;
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
    EXPECT_TRUE(closed) << r;
    ::close(fd);
  }
}

TEST_P(ServerTest, AbsoluteFormTargetsAreRoutedByTheirPath) {
  int fd = Connect();
  Send(fd,
       "GET http://elsewhere:1/hi HTTP/1.1\r\nHost: a\r\n\r\n"
       "GET http://a HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r = ReadResponses(fd, 2);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
  EXPECT_NE(r.find("{\"hi\":1}"), std::string::npos) << r;
  // "http://a" asks for "/", which no route here serves.
  EXPECT_NE(r.find("no route for GET /\""), std::string::npos) << r;
  ::close(fd);
}

TEST_P(ServerTest, HeadSendsTheGetHeadWithoutItsBodyAndKeepsTheConnection) {
  int fd = Connect();
  Send(fd, "HEAD /hi HTTP/1.1\r\nHost: a\r\n\r\nGET /hi HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string r;
  char buf[4096];
  while (Count(r, "{\"hi\":1}") < 1) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    ASSERT_GT(n, 0) << r;
    r.append(buf, static_cast<size_t>(n));
  }
  size_t end = r.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_NE(r.substr(0, end).find("Content-Length: 8"), std::string::npos) << r;
  EXPECT_EQ(r.find("HTTP/1.1 200", end), end + 4) << "the HEAD answer had a body: " << r;
  EXPECT_EQ(Count(r, "{\"hi\":1}"), 1) << r;
  ::close(fd);
}

TEST_P(ServerTest, Http10ClosesAfterTheResponse) {
  int fd = Connect();
  Send(fd, "GET /hi HTTP/1.0\r\n\r\n");  // HTTP/1.0 may leave Host out
  bool closed = false;
  std::string r = ReadResponses(fd, 2, &closed);
  EXPECT_EQ(r.rfind("HTTP/1.0 200", 0), 0u) << r;
  EXPECT_TRUE(closed);
  ::close(fd);
}

TEST_P(ServerTest, ResponseLargerThanTheSocketBufferArrivesWholeAfterASlowStart) {
  // The client reads nothing at first: the first send takes what fits, the rest is written as
  // the client drains; a pipelined request behind it is answered after it, in order.
  int fd = Connect();
  Send(fd, "GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /hi HTTP/1.1\r\nHost: a\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string r = ReadResponses(fd, 2);
  size_t body = r.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  ASSERT_GE(r.size(), body + 4 + kBigBytes);
  std::string big = r.substr(body + 4, kBigBytes);
  for (size_t i = 0; i < big.size(); i += 4096) {
    ASSERT_EQ(big[i], static_cast<char>('0' + i / 4096 % 10)) << i;
  }
  EXPECT_NE(r.find("{\"hi\":1}", body + 4 + kBigBytes), std::string::npos);
  ::close(fd);
}

TEST_P(ServerTest, ManyConnectionsAtOnceEachGetTheirOwnAnswers) {
  // 32 keep-alive connections on 4 threads, 50 requests each: the answers of one event-loop
  // turn share a batch; each must reach its own connection, in order.
  constexpr int kConns = 32, kRequests = 50;
  std::vector<int> fds;
  for (int i = 0; i < kConns; ++i) fds.push_back(Connect());
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kRequests; ++k) {
        for (int c = t; c < kConns; c += 4) {
          std::string body = "c" + std::to_string(c) + "k" + std::to_string(k);
          std::string req = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
          if (::send(fds[c], req.data(), req.size(), MSG_NOSIGNAL) !=
              static_cast<ssize_t>(req.size())) {
            ++bad;
          }
        }
        for (int c = t; c < kConns; c += 4) {
          std::string r = ReadResponses(fds[c], 1);
          std::string want = "\"body\":\"c" + std::to_string(c) + "k" + std::to_string(k) + "\"";
          if (r.find(want) == std::string::npos || Count(r, "HTTP/1.1 200 OK") != 1) ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  for (int fd : fds) ::close(fd);
}

}  // namespace
}  // namespace sluice::gateway
