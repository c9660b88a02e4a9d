// Connection upgrades (RFC 9110 §7.8): how a route handler takes over its HTTP/1.1 connection
// after answering it, e.g. to speak WebSocket. Only the .cc files of protocol front ends include
// this header (it brings in Asio's TCP socket and its OpenSSL stream); routes see just
// HttpResponse::upgrade.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/asio.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace sluice::gateway {

// The connection handed to an upgrade. Owned by the HTTP server, valid until
// ConnectionUpgrade::Run returns; used only on the connection's shard.
class UpgradedConnection {
 public:
  // The connection's TCP socket. The server closes it after Run returns (and when it stops).
  // On a TLS listener, read and write through Tls() instead; use this one for the executor.
  virtual asio::ip::tcp::socket& Socket() = 0;
  // The TLS stream over Socket() (handshake done) on a TLS listener; null on a plain one.
  virtual asio::ssl::stream<asio::ip::tcp::socket>* Tls() = 0;
  // Bytes the server had already read after the request head: a client that did not wait for
  // the handshake response. Usually empty.
  virtual std::string_view Buffered() const = 0;
  // "ip:port" of the peer.
  virtual const std::string& Remote() const = 0;
  // The socket is closed when `ms` have passed unless ClearDeadline (or a later SetDeadline)
  // comes first: for write timeouts, without a timer of the upgrade's own.
  virtual void SetDeadline(int64_t ms) = 0;
  virtual void ClearDeadline() = 0;

 protected:
  ~UpgradedConnection() = default;
};

// What a handler puts in HttpResponse::upgrade to take the connection over. The server does not
// write the handler's response: Run writes whatever the protocol's handshake answer is (a 101
// for WebSocket). Run is called on the connection's shard, once.
class ConnectionUpgrade {
 public:
  virtual ~ConnectionUpgrade() = default;
  // Serves the connection until it ends. Must not throw.
  virtual Task<void> Run(UpgradedConnection& conn) = 0;
  // The server is stopping: end the connection soon and politely (a WebSocket close frame).
  // Called on the connection's shard while Run is running; the server closes the socket itself
  // about two seconds later if Run has not returned.
  virtual void Stop() {}
};

}  // namespace sluice::gateway
