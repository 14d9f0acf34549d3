#include "src/rights/requests.h"

#include <sodium.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "src/commerce/shop.h"
#include "src/common/encoding.h"
#include "src/common/text.h"
#include "storage/order_store.h"

namespace comptoir::rights {

using nlohmann::json;

namespace {

constexpr std::string_view kTypes[] = {"access", "erasure", "rectification", "restriction", "objection"};

std::string purpose_of(RequestType t) {
  switch (t) {
    case RequestType::access: return "Art. 15 access";
    case RequestType::erasure: return "Art. 17 erasure";
    case RequestType::rectification: return "Art. 16 rectification";
    case RequestType::restriction: return "Art. 18 restriction";
    case RequestType::objection: return "Art. 21 objection";
  }
  return "";
}

std::string actor_text(const audit::Actor& a) {
  if (a.kind == audit::Actor::Kind::token) return "token:" + a.token_id;
  if (a.kind == audit::Actor::Kind::system) return "system";
  return "data_subject";
}

std::string iso_day(std::int64_t unix) { return format_rfc3339(TimePoint(std::chrono::seconds(unix))).substr(0, 10); }

privacy::Duration months(int n) {
  privacy::Duration d;
  d.months = n;
  d.text = "P" + std::to_string(n) + "M";
  return d;
}

std::string outcome_word(privacy::ErasureOutcome o) {
  switch (o) {
    case privacy::ErasureOutcome::erase: return "erased";
    case privacy::ErasureOutcome::keep_restricted: return "retained";
    case privacy::ErasureOutcome::unlink: return "unlinked";
    case privacy::ErasureOutcome::expire: return "expires";
  }
  return "erased";
}

std::string basis_text(const privacy::Basis& b) {
  std::string s = "Art. 6(1)(" + std::string(privacy::letter(b.basis)) + ") GDPR";
  if (!b.detail.empty()) s += ": " + b.detail.in("en");
  return s;
}

// The new values of a rectification as sealed JSON, and back.
std::string changes_json(const Changes& c) {
  json j = json::object();
  if (c.recipient_name) j["recipient_name"] = *c.recipient_name;
  if (c.delivery_address) j["delivery_address"] = *c.delivery_address;
  if (c.language) j["language"] = *c.language;
  return j.dump();
}

Changes changes_from(const std::string& text) {
  Changes c;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return c;
  if (j.contains("recipient_name") && j["recipient_name"].is_string()) c.recipient_name = j["recipient_name"].get<std::string>();
  if (j.contains("delivery_address") && j["delivery_address"].is_string()) c.delivery_address = j["delivery_address"].get<std::string>();
  if (j.contains("language") && j["language"].is_string()) c.language = j["language"].get<std::string>();
  return c;
}

}  // namespace

std::string_view to_string(RequestType t) { return kTypes[static_cast<int>(t)]; }

bool parse_request_type(std::string_view text, RequestType& out) {
  for (std::size_t i = 0; i < std::size(kTypes); ++i) {
    if (kTypes[i] == text) {
      out = static_cast<RequestType>(i);
      return true;
    }
  }
  return false;
}

std::string_view to_string(Origin o) {
  switch (o) {
    case Origin::web: return "web";
    case Origin::chat: return "chat";
    case Origin::operator_: return "operator";
  }
  return "web";
}

RequestService::RequestService(storage::Database& db, commerce::CustomerDirectory& customers,
                               commerce::ConsentLedger& consent, const privacy::Inventory& inventory,
                               const privacy::BlindIndex& index, audit::Recorder& audit, const SecretBytes& secrets_key,
                               const SecretBytes& signing_seed, Notify notify, RequestSettings settings,
                               const Clock& clock)
    : db_(db),
      customers_(customers),
      consent_(consent),
      inventory_(inventory),
      index_(index),
      audit_(audit),
      hash_key_(crypto_generichash_KEYBYTES),
      signing_key_(crypto_sign_SECRETKEYBYTES),
      notify_(std::move(notify)),
      settings_(std::move(settings)),
      clock_(clock),
      store_(db) {
  // A key of its own for codes and download tokens, derived from the given one with a context
  // no other purpose uses.
  if (secrets_key.size() == crypto_kdf_KEYBYTES) {
    crypto_kdf_derive_from_key(hash_key_.data(), hash_key_.size(), 1, "cmptrqst", secrets_key.data());
  } else {
    randombytes_buf(hash_key_.data(), hash_key_.size());
  }
  std::uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  if (signing_seed.size() == crypto_sign_SEEDBYTES) {
    crypto_sign_seed_keypair(pk, signing_key_.data(), signing_seed.data());
  } else {
    crypto_sign_keypair(pk, signing_key_.data());  // tests without a key ring
  }
  public_key_hex_ = hex_encode(std::span<const std::uint8_t>(pk, sizeof pk));
  settings_.code_digits = std::clamp(settings_.code_digits, 6, 8);
}

std::vector<std::uint8_t> RequestService::keyed_hash(std::string_view domain, std::string_view a, std::string_view b) const {
  std::vector<std::uint8_t> out(32);
  crypto_generichash_state st;
  crypto_generichash_init(&st, hash_key_.data(), hash_key_.size(), out.size());
  const auto feed = [&](std::string_view part) {
    const std::uint64_t n = part.size();
    std::uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(n >> (8 * i));
    crypto_generichash_update(&st, len, sizeof len);
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  };
  feed(domain);
  feed(a);
  feed(b);
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

Result<std::string> RequestService::address_key(privacy::Channel channel, std::string_view address) const {
  return index_.of(channel, address);
}

Status RequestService::record(storage::Tx& tx, const audit::Actor& actor, const std::string& action,
                              const storage::RequestRecord& r, const std::string& subject, const std::string& outcome) {
  audit::Event e;
  e.actor = actor;
  e.action = action;
  e.resource = "request:" + r.id;
  e.subject = subject;
  RequestType t = RequestType::access;
  parse_request_type(r.type, t);
  e.purpose = purpose_of(t);
  e.outcome = outcome;
  e.details = {{"type", r.type}, {"channel", r.channel}, {"origin", r.origin}};
  if (r.attempts > 0) e.counts["attempts"] = r.attempts;
  return audit_.record(tx, e);
}

Result<std::string> RequestService::open(const OpenRequest& request) {
  auto normalized = privacy::normalize_address(request.channel, request.address);
  if (!normalized) {
    return fail(Errc::invalid_argument, "malformed address", "the address is not a valid " +
                                                                 std::string(privacy::to_string(request.channel)) + " address");
  }
  const bool rectify = request.type == RequestType::rectification;
  if (rectify && request.changes.empty()) {
    return fail(Errc::invalid_argument, "rectification without changes",
                "a rectification needs \"changes\": recipient_name, delivery_address and/or language");
  }
  if (!rectify && !request.changes.empty()) {
    return fail(Errc::invalid_argument, "changes on a request that is not a rectification",
                "\"changes\" only go with a rectification");
  }
  if (request.changes.recipient_name) {
    if (auto st = commerce::validate_recipient_name(*request.changes.recipient_name); !st) {
      return fail(Errc::invalid_argument, "invalid recipient name", "changes.recipient_name: " + st.error().shown());
    }
  }
  if (request.changes.delivery_address) {
    if (auto st = commerce::validate_address(*request.changes.delivery_address); !st) {
      return fail(Errc::invalid_argument, "invalid delivery address", "changes.delivery_address: " + st.error().shown());
    }
  }
  if (request.changes.language &&
      std::find(settings_.languages.begin(), settings_.languages.end(), *request.changes.language) == settings_.languages.end()) {
    return fail(Errc::invalid_argument, "unsupported language", "changes.language must be one of the shop's languages");
  }

  // Random values are drawn once, outside the write (whose callback may run twice).
  const std::string id = random_id("prq_", 16);
  std::uint32_t bound = 1;
  for (int i = 0; i < settings_.code_digits; ++i) bound *= 10;
  std::string code = std::to_string(randombytes_uniform(bound));
  code.insert(0, static_cast<std::size_t>(settings_.code_digits) - code.size(), '0');
  const std::vector<std::uint8_t> code_hash = keyed_hash("code", id, code);
  const std::int64_t now = unix_seconds(clock_.now());

  auto st = db_.write([&](storage::Tx& tx) -> Status {
    storage::RequestRecord r;
    r.id = id;
    r.type = std::string(to_string(request.type));
    r.channel = std::string(privacy::to_string(request.channel));
    r.origin = std::string(to_string(request.origin));
    r.actor = actor_text(request.actor);
    r.received_at = now;
    r.due_at = months(1).after(now);
    r.code_hash = code_hash;
    r.code_expires_at = now + settings_.code_validity.count();
    auto customer = customers_.find(tx, request.channel, request.address);
    if (!customer) return std::unexpected(customer.error());
    std::string subject;
    if (customer->has_value()) {
      const commerce::Customer& c = **customer;
      r.customer_id = c.id;
      subject = c.subject_id;
      if (rectify) {
        auto sealed = customers_.vault().seal(tx, c.subject_id, {"privacy_requests", "changes", id},
                                              changes_json(request.changes));
        if (!sealed) return std::unexpected(sealed.error());
        r.changes_sealed = std::move(*sealed);
      }
    }
    if (auto s = store_.insert(tx, r); !s) return s;
    if (customer->has_value()) {
      const std::string minutes = std::to_string(settings_.code_validity.count() / 60);
      if (auto s = notify_(tx, **customer, "rights.code", {{"code", code}, {"minutes", minutes}}); !s) {
        return s;
      }
    }
    return record(tx, request.actor, "request.received", r, subject);
  });
  sodium_memzero(code.data(), code.size());
  if (!st) return std::unexpected(st.error());
  if (settings_.after_commit) settings_.after_commit();
  return id;
}

Result<VerifyResult> RequestService::verify(const std::string& request_id, std::string_view code) {
  const std::string export_token = random_id("", 32);
  VerifyResult result;
  bool found = false;
  auto st = db_.write([&](storage::Tx& tx) -> Status {
    result = VerifyResult{};
    found = false;
    const std::int64_t now = unix_seconds(clock_.now());
    auto rec = store_.by_id(tx, request_id);
    if (!rec) return std::unexpected(rec.error());
    if (!rec->has_value()) return ok();
    found = true;
    storage::RequestRecord& r = **rec;
    std::string subject;
    std::optional<commerce::Customer> customer;
    if (r.customer_id) {
      auto c = customers_.by_id(tx, *r.customer_id);
      if (!c) return std::unexpected(c.error());
      if (c->has_value()) {
        customer = **c;
        subject = customer->subject_id;
      }
    }
    const audit::Actor actor = audit::Actor::data_subject();
    if (r.completed_at) {
      result.status = VerifyStatus::already_done;
      return ok();
    }
    if (r.locked_at) {
      result.status = VerifyStatus::locked;
      return ok();
    }
    if (r.code_hash.empty() || !r.code_expires_at || now > *r.code_expires_at) {
      result.status = VerifyStatus::expired;
      return record(tx, actor, "request.failed_verification", r, subject, "expired");
    }
    // Compared in constant time (the hash of what was sent against the stored hash).
    const auto given = keyed_hash("code", r.id, code);
    const bool right = given.size() == r.code_hash.size() &&
                       sodium_memcmp(given.data(), r.code_hash.data(), given.size()) == 0;
    if (!right) {
      r.attempts += 1;
      const bool lock = r.attempts >= settings_.max_attempts;
      if (auto s = store_.record_failed_attempt(tx, r.id, lock ? std::optional<std::int64_t>(now) : std::nullopt); !s) return s;
      if (auto s = record(tx, actor, "request.failed_verification", r, subject, "denied"); !s) return s;
      if (lock) {
        result.status = VerifyStatus::locked;
        return record(tx, actor, "request.locked", r, subject, "locked");
      }
      result.status = VerifyStatus::wrong_code;
      result.attempts_left = settings_.max_attempts - static_cast<int>(r.attempts);
      return ok();
    }
    if (auto s = store_.mark_verified(tx, r.id, now); !s) return s;
    r.verified_at = now;
    if (auto s = record(tx, actor, "request.verified", r, subject); !s) return s;
    result.status = VerifyStatus::done;
    return execute(tx, r, export_token, result.outcome);
  });
  if (!st) return std::unexpected(st.error());
  if (!found) return fail(Errc::not_found, "no such request", "no such request");
  if (settings_.after_commit) settings_.after_commit();
  return result;
}

Result<Outcome> RequestService::execute_in_chat(storage::Tx& tx, const commerce::Customer& customer, RequestType type,
                                                const Changes& changes) {
  const std::int64_t now = unix_seconds(clock_.now());
  storage::RequestRecord r;
  r.id = random_id("prq_", 16);
  r.type = std::string(to_string(type));
  r.channel = std::string(privacy::to_string(customer.channel));
  r.origin = "chat";
  r.customer_id = customer.id;
  r.actor = "data_subject";
  r.received_at = now;
  r.due_at = months(1).after(now);
  r.verified_at = now;
  if (type == RequestType::rectification) {
    auto sealed = customers_.vault().seal(tx, customer.subject_id, {"privacy_requests", "changes", r.id}, changes_json(changes));
    if (!sealed) return std::unexpected(sealed.error());
    r.changes_sealed = std::move(*sealed);
  }
  if (auto s = store_.insert(tx, r); !s) return std::unexpected(s.error());
  const audit::Actor actor = audit::Actor::data_subject();
  if (auto s = record(tx, actor, "request.received", r, customer.subject_id); !s) return std::unexpected(s.error());
  if (auto s = record(tx, actor, "request.verified", r, customer.subject_id); !s) return std::unexpected(s.error());
  Outcome out;
  if (auto s = execute(tx, r, random_id("", 32), out, /*in_chat=*/true); !s) return std::unexpected(s.error());
  return out;
}

// Carries out a verified request inside `tx` and marks it completed.
Status RequestService::execute(storage::Tx& tx, const storage::RequestRecord& r, const std::string& export_token,
                               Outcome& out, bool in_chat) {
  const Notify notify = in_chat ? Notify([](storage::Tx&, const commerce::Customer&, const std::string&,
                                            const std::vector<std::pair<std::string, std::string>>&) { return ok(); })
                                : notify_;
  const std::int64_t now = unix_seconds(clock_.now());
  RequestType type = RequestType::access;
  parse_request_type(r.type, type);
  out = Outcome{};
  out.type = type;
  std::optional<commerce::Customer> customer;
  if (r.customer_id) {
    auto c = customers_.by_id(tx, *r.customer_id);
    if (!c) return std::unexpected(c.error());
    if (c->has_value()) customer = **c;
  }
  const std::string subject = customer ? customer->subject_id : std::string();
  std::string receipt;
  if (!customer) {
    // Erased between opening and verifying: nothing left to act on. An erasure still gets its
    // (empty) signed receipt.
    out.code = "nothing_held";
    if (type == RequestType::erasure) {
      ErasureReceipt empty;
      empty.erased_at = now;
      receipt = sign_receipt(r.id, empty);
      out.receipt = receipt;
    }
  } else {
    const commerce::Customer& c = *customer;
    switch (type) {
      case RequestType::access: {
        if (auto s = store_.set_export(tx, r.id, keyed_hash("export", export_token, ""),
                                       now + settings_.export_validity.count());
            !s) {
          return s;
        }
        out.code = "exported";
        out.export_token = export_token;
        out.export_expires_at = now + settings_.export_validity.count();
        break;
      }
      case RequestType::erasure: {
        // Where to confirm it, taken before the address is erased.
        std::string address;
        if (notify_erased_ && !in_chat && c.channel != privacy::Channel::webchat) {
          auto a = customers_.address_of(tx, c);
          if (!a) return std::unexpected(a.error());
          address = std::move(*a);
        }
        auto erased = erase_subject(tx, inventory_, customers_.vault(), {c.id, c.subject_id}, clock_);
        if (!erased && erased.error().code != Errc::not_found) return std::unexpected(erased.error());
        ErasureReceipt rc;
        if (erased) rc = std::move(*erased);
        else rc.erased_at = now;
        rc.subject_reference = c.subject_id;
        out.code = erased ? "erased" : "nothing_held";
        receipt = sign_receipt(r.id, rc);
        out.receipt = receipt;
        if (!address.empty()) {
          if (auto s = notify_erased_(tx, c.channel, address, c.language, "rights.erased", {{"request", r.id}}); !s) return s;
        }
        break;
      }
      case RequestType::rectification: {
        Changes changes;
        if (!r.changes_sealed.empty()) {
          auto opened = customers_.vault().open(tx, c.subject_id, {"privacy_requests", "changes", r.id}, r.changes_sealed);
          if (!opened) return std::unexpected(opened.error());
          changes = changes_from(*opened);
        }
        if (changes.recipient_name || changes.delivery_address) {
          storage::OrderStore orders(db_);
          storage::OrderQuery q;
          q.customer_id = c.id;
          q.limit = 1000;
          auto list = orders.list(tx, q);
          if (!list) return std::unexpected(list.error());
          auto& vault = customers_.vault();
          for (const auto& o : *list) {
            if (o.fulfilment != "delivery" || o.status == "completed" || o.status == "cancelled") continue;
            std::vector<std::uint8_t> name = o.recipient_name_sealed, address = o.delivery_address_sealed;
            if (changes.recipient_name) {
              auto sealed = vault.seal(tx, c.subject_id, {"orders", "recipient_name", o.number},
                                       std::string(text::trim(*changes.recipient_name)));
              if (!sealed) return std::unexpected(sealed.error());
              name = std::move(*sealed);
            }
            if (changes.delivery_address) {
              auto sealed = vault.seal(tx, c.subject_id, {"orders", "delivery_address", o.number},
                                       std::string(text::trim(*changes.delivery_address)));
              if (!sealed) return std::unexpected(sealed.error());
              address = std::move(*sealed);
            }
            if (auto s = orders.set_delivery(tx, o.id, name, address, now); !s) return s;
            ++out.orders_rectified;
          }
        }
        if (changes.language) {
          if (auto s = customers_.set_language(tx, c.id, *changes.language); !s) return s;
        }
        if (!r.changes_sealed.empty()) {
          if (auto s = store_.clear_changes(tx, r.id); !s) return s;
        }
        out.code = "rectified";
        commerce::Customer told = c;
        if (changes.language) told.language = *changes.language;
        if (auto s = notify(tx, told, "rights.rectified", {{"orders", std::to_string(out.orders_rectified)}}); !s) return s;
        break;
      }
      case RequestType::restriction: {
        if (auto s = store_.restrict(tx, c.id, r.id, now); !s) return s;
        out.code = "restricted";
        if (auto s = notify(tx, c, "rights.restricted", {}); !s) return s;
        break;
      }
      case RequestType::objection: {
        const std::string version = settings_.notice_version ? settings_.notice_version(c.language) : std::string();
        auto withdrawn = consent_.withdraw_marketing(tx, c, version, c.language);
        if (!withdrawn) return std::unexpected(withdrawn.error());
        out.code = "objected";
        if (auto s = notify(tx, c, "rights.objected", {}); !s) return s;
        break;
      }
    }
  }
  if (auto s = store_.complete(tx, r.id, now, out.code, receipt); !s) return s;
  storage::RequestRecord done = r;
  done.outcome = out.code;
  auto s = record(tx, audit::Actor::data_subject(), "request.completed", done, subject, out.code);
  return s;
}

std::string RequestService::sign_receipt(const std::string& request_id, const ErasureReceipt& rc) const {
  json categories = json::array();
  for (const auto& line : rc.categories) {
    json j = {{"category", line.category}, {"outcome", outcome_word(line.outcome)}, {"records", line.records}};
    const privacy::Category* cat = inventory_.category(line.category);
    if (cat != nullptr) j["name"] = cat->name.in("en");
    if (line.until) j["retained_until"] = iso_day(*line.until);
    if (line.legal_basis) j["legal_basis"] = basis_text(*line.legal_basis);
    categories.push_back(std::move(j));
  }
  json receipt = {{"format", "comptoir.erasure-receipt.v1"},
                  {"request_id", request_id},
                  {"subject_reference", rc.subject_reference},
                  {"erased_at", format_rfc3339(TimePoint(std::chrono::seconds(rc.erased_at)))},
                  {"categories", categories},
                  {"orders_kept", rc.orders_kept}};
  // nlohmann::json keeps object keys in byte order: dump() without indentation is the canonical
  // form that is signed.
  const std::string canonical = receipt.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string message = std::string(kReceiptContext) + canonical;
  std::uint8_t sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       signing_key_.data());
  json doc = {{"receipt", receipt},
              {"signature", hex_encode(std::span<const std::uint8_t>(sig, sizeof sig))},
              {"public_key", public_key_hex_},
              {"algorithm", "Ed25519"}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool verify_receipt(std::string_view document, std::string_view public_key_hex) {
  const json doc = json::parse(document, nullptr, false);
  if (!doc.is_object() || !doc.contains("receipt") || !doc.contains("signature") || !doc["signature"].is_string()) return false;
  auto sig = hex_decode(doc["signature"].get<std::string>());
  auto pk = hex_decode(public_key_hex);
  if (!sig || !pk || sig->size() != crypto_sign_BYTES || pk->size() != crypto_sign_PUBLICKEYBYTES) return false;
  const std::string message = std::string(kReceiptContext) + doc["receipt"].dump(-1, ' ', false, json::error_handler_t::replace);
  return crypto_sign_verify_detached(sig->data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     pk->data()) == 0;
}

Result<ExportDownload> RequestService::download(std::string_view token) {
  if (token.size() != 64) return fail(Errc::not_found, "no such download", "no such download");
  const auto hash = keyed_hash("export", token, "");
  ExportDownload out;
  bool found = false, gone = false;
  auto st = db_.write([&](storage::Tx& tx) -> Status {
    found = gone = false;
    const std::int64_t now = unix_seconds(clock_.now());
    auto rec = store_.by_export_hash(tx, hash);
    if (!rec) return std::unexpected(rec.error());
    if (!rec->has_value()) return ok();
    found = true;
    const storage::RequestRecord& r = **rec;
    if (r.export_used_at || !r.export_expires_at || now > *r.export_expires_at || !r.customer_id) {
      gone = true;
      return ok();
    }
    auto c = customers_.by_id(tx, *r.customer_id);
    if (!c) return std::unexpected(c.error());
    if (!c->has_value()) {
      gone = true;
      return ok();
    }
    auto used = store_.use_export(tx, r.id, now);
    if (!used) return std::unexpected(used.error());
    if (!*used) {
      gone = true;
      return ok();
    }
    ExportContext context = settings_.export_context;
    context.language = (*c)->language;
    auto doc = export_subject(tx, inventory_, customers_.vault(), {(*c)->id, (*c)->subject_id}, context, clock_);
    if (!doc) return std::unexpected(doc.error());
    out.document = std::move(*doc);
    out.language = (*c)->language;
    return record(tx, audit::Actor::data_subject(), "request.export_downloaded", r, (*c)->subject_id);
  });
  if (!st) return std::unexpected(st.error());
  if (!found) return fail(Errc::not_found, "no such download", "no such download");
  if (gone) return fail(Errc::gone, "download used or expired", "this download link was already used or has expired");
  return out;
}

RegisterEntry RequestService::entry(storage::RequestRecord r, std::int64_t now) const {
  RegisterEntry e;
  e.due = r.extended_until.value_or(r.due_at);
  if (r.completed_at) e.status = "completed";
  else if (r.locked_at) e.status = "locked";
  else if (!r.verified_at && (!r.code_expires_at || now > *r.code_expires_at)) e.status = "expired";
  else if (!r.verified_at) e.status = "awaiting_verification";
  else e.status = "in_progress";
  const bool open = e.status == "awaiting_verification" || e.status == "in_progress";
  e.overdue = open && now > e.due;
  e.nearly_due = open && !e.overdue && e.due - now <= static_cast<std::int64_t>(settings_.nearly_due_days) * 86400;
  e.record = std::move(r);
  return e;
}

Result<std::vector<RegisterEntry>> RequestService::register_entries(int limit) {
  std::vector<RegisterEntry> out;
  auto st = db_.read([&](storage::Tx& tx) -> Status {
    out.clear();
    auto list = store_.list(tx, limit);
    if (!list) return std::unexpected(list.error());
    const std::int64_t now = unix_seconds(clock_.now());
    for (auto& r : *list) out.push_back(entry(std::move(r), now));
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  return out;
}

// The request `request_id`, or Errc::not_found ("no such request") for staff actions on it.
Result<storage::RequestRecord> RequestService::existing(storage::Tx& tx, const std::string& request_id) {
  auto rec = store_.by_id(tx, request_id);
  if (!rec) return std::unexpected(rec.error());
  if (!rec->has_value()) return fail(Errc::not_found, "no such request", "no such request");
  return std::move(**rec);
}

Result<RegisterEntry> RequestService::extend(const std::string& request_id, int months_more, const std::string& reason,
                                             const audit::Actor& actor) {
  if (months_more < 1 || months_more > 2) {
    return fail(Errc::invalid_argument, "bad extension", "months must be 1 or 2 (Art. 12(3): at most two further months)");
  }
  const std::string trimmed(text::trim(reason));
  if (trimmed.empty() || !text::is_valid_utf8(trimmed) || text::utf8_length(trimmed) > 500 ||
      !text::no_control_chars(trimmed, false)) {
    return fail(Errc::invalid_argument, "bad extension reason", "reason must be 1–500 characters of text on one line");
  }
  RegisterEntry result;
  auto st = db_.write([&](storage::Tx& tx) -> Status {
    const std::int64_t now = unix_seconds(clock_.now());
    auto rec = existing(tx, request_id);
    if (!rec) return std::unexpected(rec.error());
    storage::RequestRecord r = std::move(*rec);
    if (r.completed_at || r.locked_at) return fail(Errc::conflict, "request closed", "the request is closed");
    const std::int64_t until = months(months_more).after(r.due_at);
    if (r.extended_until && until < *r.extended_until) {
      return fail(Errc::conflict, "shorter extension", "the request is already extended further");
    }
    if (auto s = store_.extend(tx, r.id, until, trimmed); !s) return s;
    r.extended_until = until;
    r.extension_reason = trimmed;
    std::string subject;
    if (r.customer_id) {
      auto c = customers_.by_id(tx, *r.customer_id);
      if (!c) return std::unexpected(c.error());
      // The customer is told when they proved who they are, or staff opened it with them; a request
      // someone opened from the page and never confirmed may not be theirs.
      if (c->has_value() && (r.verified_at || r.origin == "operator")) {
        subject = (*c)->subject_id;
        if (auto s = notify_(tx, **c, "rights.extended", {{"date", iso_day(until)}, {"reason", trimmed}}); !s) return s;
      } else if (c->has_value()) {
        subject = (*c)->subject_id;
      }
    }
    if (auto s = record(tx, actor, "request.extended", r, subject); !s) return s;
    result = entry(std::move(r), now);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  if (settings_.after_commit) settings_.after_commit();
  return result;
}

Result<RegisterEntry> RequestService::lift_restriction(const std::string& request_id, const audit::Actor& actor) {
  RegisterEntry result;
  auto st = db_.write([&](storage::Tx& tx) -> Status {
    const std::int64_t now = unix_seconds(clock_.now());
    auto rec = existing(tx, request_id);
    if (!rec) return std::unexpected(rec.error());
    storage::RequestRecord r = std::move(*rec);
    if (r.type != "restriction" || r.outcome != "restricted" || r.lifted_at || !r.customer_id) {
      return fail(Errc::conflict, "nothing to lift", "this request did not put a restriction in place that is still on");
    }
    auto lifted = store_.lift(tx, *r.customer_id);
    if (!lifted) return std::unexpected(lifted.error());
    if (auto s = store_.set_lifted(tx, r.id, now); !s) return s;
    r.lifted_at = now;
    std::string subject;
    auto c = customers_.by_id(tx, *r.customer_id);
    if (!c) return std::unexpected(c.error());
    if (c->has_value()) {
      subject = (*c)->subject_id;
      if (auto s = notify_(tx, **c, "rights.restriction_lifted", {}); !s) return s;
    }
    if (auto s = record(tx, actor, "request.restriction_lifted", r, subject); !s) return s;
    result = entry(std::move(r), now);
    return ok();
  });
  if (!st) return std::unexpected(st.error());
  if (settings_.after_commit) settings_.after_commit();
  return result;
}

Result<bool> RequestService::restricted(storage::Tx& tx, std::int64_t customer_id) { return store_.restricted(tx, customer_id); }

}  // namespace comptoir::rights
