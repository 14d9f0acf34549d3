// Data-subject requests (GDPR Art. 12, 15–18, 20, 21): opening a request for a chat address,
// proving that the requester holds that chat with a one-time code sent there, and carrying the
// request out — access (a one-time, expiring export download), erasure (rights::erase_subject and
// a receipt signed with the audit key), rectification (delivery details of open orders, the
// stored language), restriction (no marketing or new processing until lifted) and objection
// (marketing consent withdrawn at once). Each step runs in one transaction and is recorded
// through audit::Recorder with the pseudonymous subject reference only, never the address.
// The register of requests (Art. 12(3) due dates, extensions) is read from the same store.
//
// An address nobody wrote from gets a request too (without a customer link, its code sent
// nowhere), so that the answer to opening a request never tells whether an address is known.
// Thread-safe: all state is in the database.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "privacy/blind_index.h"
#include "privacy/inventory.h"
#include "src/audit/recorder.h"
#include "src/commerce/consent.h"
#include "src/commerce/customers.h"
#include "src/common/env.h"
#include "src/common/error.h"
#include "src/common/secret.h"
#include "src/rights/erasure.h"
#include "src/rights/export.h"
#include "storage/request_store.h"

namespace comptoir::rights {

enum class RequestType { access, erasure, rectification, restriction, objection };
std::string_view to_string(RequestType t);
bool parse_request_type(std::string_view text, RequestType& out);

enum class Origin { web, chat, operator_ };
std::string_view to_string(Origin o);

// Rectification: the new values (Art. 16). Given fields replace the stored ones: the recipient
// name and delivery address on every open delivery order, the customer's language.
struct Changes {
  std::optional<std::string> recipient_name;
  std::optional<std::string> delivery_address;
  std::optional<std::string> language;
  bool empty() const { return !recipient_name && !delivery_address && !language; }
};

struct OpenRequest {
  RequestType type = RequestType::access;
  privacy::Channel channel = privacy::Channel::webchat;
  std::string address;  // wa_id, Telegram chat id or web chat session id: never stored
  Origin origin = Origin::web;
  audit::Actor actor = audit::Actor::data_subject();
  Changes changes;      // rectification only (required there, refused elsewhere)
};

struct RequestSettings {
  std::chrono::seconds code_validity{600};
  int max_attempts = 5;    // wrong codes before the request is locked
  int code_digits = 8;     // 6–8
  std::chrono::seconds export_validity{900};
  int nearly_due_days = 7;
  ExportContext export_context;  // shop name and contact for exports (language: the customer's)
  std::vector<std::string> languages = {"en", "fr", "de"};  // accepted for rectification
  // The notice version a customer writing in a language is shown (recorded with an objection's
  // withdrawal of marketing consent in the consent ledger).
  std::function<std::string(const std::string& language)> notice_version;
  // Runs after a write that queued a message for a chat committed (wakes the outbox worker).
  std::function<void()> after_commit;
};

// Sends the message catalog text `key` with its slots to the customer's chat, in the caller's
// transaction (web chat inbox or the channels' outbox).
using Notify = std::function<Status(storage::Tx&, const commerce::Customer&, const std::string& key,
                                    const std::vector<std::pair<std::string, std::string>>& values)>;

// Sends the text `key` to a chat address of a customer erased in the caller's transaction (the
// confirmation of the erasure), in `language`; taken before the erasure, used once.
using NotifyErased = std::function<Status(storage::Tx&, privacy::Channel, const std::string& address,
                                          const std::string& language, const std::string& key,
                                          const std::vector<std::pair<std::string, std::string>>& values)>;

// What carrying out a request produced.
struct Outcome {
  RequestType type = RequestType::access;
  std::string code;              // exported | erased | nothing_held | rectified | restricted | objected
  std::string export_token;      // access: the one-time download token (the caller builds the URL)
  std::int64_t export_expires_at = 0;
  std::string receipt;           // erasure: the signed receipt document (JSON; docs/privacy.md)
  int orders_rectified = 0;
};

enum class VerifyStatus {
  done,          // verified and carried out: see outcome
  wrong_code,    // attempts_left more tries
  locked,        // too many wrong codes (this attempt or earlier)
  expired,       // the code is no longer valid
  already_done,  // the request was verified and carried out before
};

struct VerifyResult {
  VerifyStatus status = VerifyStatus::wrong_code;
  int attempts_left = 0;
  Outcome outcome;
};

// One line of the register.
struct RegisterEntry {
  storage::RequestRecord record;
  std::string status;            // awaiting_verification | expired | locked | completed
  std::int64_t due = 0;          // extended_until if extended, else due_at
  bool overdue = false;          // still open after its due date
  bool nearly_due = false;       // still open, due within nearly_due_days
};

struct ExportDownload {
  std::string document;  // the JSON export (rights::export_subject)
  std::string language;  // the customer's
};

class RequestService {
 public:
  // `secrets_key`: 32 bytes from which the key hashing codes and download tokens is derived;
  // `signing_seed`: the audit-signing seed (32 bytes, privacy::KeyRing::audit_signing_seed).
  RequestService(storage::Database& db, commerce::CustomerDirectory& customers, commerce::ConsentLedger& consent,
                 const privacy::Inventory& inventory, const privacy::BlindIndex& index, audit::Recorder& audit,
                 const SecretBytes& secrets_key, const SecretBytes& signing_seed, Notify notify,
                 RequestSettings settings, const Clock& clock);

  // Opens a request and returns its id. When the address belongs to a customer, a code valid
  // code_validity goes to their chat in the same transaction. Errc::invalid_argument (public
  // message) for a malformed address or changes.
  Result<std::string> open(const OpenRequest& request);
  // Checks `code` (constant time) and, when right, carries the request out in the same
  // transaction. Errc::not_found for an unknown id.
  Result<VerifyResult> verify(const std::string& request_id, std::string_view code);
  // The chat proves who is writing: a request opened there is verified and carried out at once,
  // inside the caller's transaction.
  Result<Outcome> execute_in_chat(storage::Tx& tx, const commerce::Customer& customer, RequestType type,
                                  const Changes& changes = {});
  // The export for a download token, once: Errc::not_found for a token never issued, Errc::gone
  // for one used, expired, or whose customer was erased since.
  Result<ExportDownload> download(std::string_view token);

  // The register, newest first.
  Result<std::vector<RegisterEntry>> register_entries(int limit);
  // Extends the due date to `months` (1 or 2) further months after the original one (Art. 12(3)),
  // with the reason; tells the customer in the chat (when verified, or opened by staff). Errc::not_found, Errc::conflict (completed,
  // or shorter than an earlier extension), Errc::invalid_argument.
  Result<RegisterEntry> extend(const std::string& request_id, int months, const std::string& reason,
                               const audit::Actor& actor);
  // Lifts the restriction a completed restriction request put in place. Errc::not_found,
  // Errc::conflict (not a completed restriction, or already lifted).
  Result<RegisterEntry> lift_restriction(const std::string& request_id, const audit::Actor& actor);
  // How the confirmation of an erasure reaches the chat (optional; without it there is none).
  // Before serving only.
  void set_notify_erased(NotifyErased fn) { notify_erased_ = std::move(fn); }
  // Whether the customer's processing is restricted (Art. 18).
  Result<bool> restricted(storage::Tx& tx, std::int64_t customer_id);

  // A key for per-address rate limits: the blind index of the normalized address (Errc::
  // invalid_argument for a malformed one). Never the address itself.
  Result<std::string> address_key(privacy::Channel channel, std::string_view address) const;
  // Hex of the Ed25519 public key that verifies receipts (the audit key).
  const std::string& public_key_hex() const { return public_key_hex_; }
  const RequestSettings& settings() const { return settings_; }

 private:
  // `in_chat`: the chat's own reply tells the customer; no separate message is sent.
  Status execute(storage::Tx& tx, const storage::RequestRecord& record, const std::string& export_token,
                 Outcome& out, bool in_chat = false);
  RegisterEntry entry(storage::RequestRecord r, std::int64_t now) const;
  Result<storage::RequestRecord> existing(storage::Tx& tx, const std::string& request_id);
  std::vector<std::uint8_t> keyed_hash(std::string_view domain, std::string_view a, std::string_view b) const;
  Status record(storage::Tx& tx, const audit::Actor& actor, const std::string& action, const storage::RequestRecord& r,
                const std::string& subject, const std::string& outcome = "success");
  std::string sign_receipt(const std::string& request_id, const ErasureReceipt& receipt) const;

  storage::Database& db_;
  commerce::CustomerDirectory& customers_;
  commerce::ConsentLedger& consent_;
  const privacy::Inventory& inventory_;
  const privacy::BlindIndex& index_;
  audit::Recorder& audit_;
  SecretBytes hash_key_;
  SecretBytes signing_key_;  // Ed25519 secret key (64 bytes)
  std::string public_key_hex_;
  Notify notify_;
  NotifyErased notify_erased_;
  RequestSettings settings_;
  const Clock& clock_;
  storage::RequestStore store_;
};

// The bytes a receipt signature covers: kReceiptContext followed by `receipt_canonical` (the
// "receipt" object of the document as compact JSON with keys in byte order). Exposed for tests
// and re-implementers; docs/privacy.md describes it.
inline constexpr std::string_view kReceiptContext = "comptoir.erasure-receipt.v1\n";
// Verifies a receipt document (as returned in Outcome::receipt) against a hex public key.
bool verify_receipt(std::string_view document, std::string_view public_key_hex);

}  // namespace comptoir::rights
