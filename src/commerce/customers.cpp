#include "src/commerce/customers.h"

#include "src/common/text.h"

namespace comptoir::commerce {

namespace {

Customer from_record(const storage::CustomerRecord& r) {
  Customer c;
  c.id = r.id;
  c.subject_id = r.subject_id;
  privacy::parse_channel(r.channel, c.channel);
  c.language = r.language;
  c.last_active_at = r.last_active_at;
  return c;
}

}  // namespace

CustomerDirectory::CustomerDirectory(storage::Database& db, privacy::Vault& vault,
                                     const privacy::BlindIndex& index, const Clock& clock)
    : store_(db), vault_(vault), index_(index), clock_(clock) {}

Result<std::optional<Customer>> CustomerDirectory::find(storage::Tx& tx, privacy::Channel channel,
                                                        std::string_view address) {
  auto idx = index_.of(channel, address);
  if (!idx) return std::unexpected(idx.error());
  auto rec = store_.by_index(tx, *idx);
  if (!rec) return std::unexpected(rec.error());
  if (!rec->has_value()) {
    rec = store_.by_alias(tx, *idx);
    if (!rec) return std::unexpected(rec.error());
  }
  if (!rec->has_value()) return std::optional<Customer>();
  return std::optional<Customer>(from_record(**rec));
}

Status CustomerDirectory::add_alias(storage::Tx& tx, const Customer& c, std::string_view alias) {
  auto idx = index_.of(c.channel, alias);
  if (!idx) return std::unexpected(idx.error());
  auto added = store_.add_alias(tx, c.id, *idx, unix_seconds(clock_.now()));
  if (!added) return std::unexpected(added.error());
  return ok();
}

Result<bool> CustomerDirectory::change_address(storage::Tx& tx, privacy::Channel channel, std::string_view from,
                                               std::string_view to) {
  auto found = find(tx, channel, from);
  if (!found) return std::unexpected(found.error());
  if (!found->has_value()) return false;
  auto taken = find(tx, channel, to);
  if (!taken) return std::unexpected(taken.error());
  if (taken->has_value()) return false;
  auto idx = index_.of(channel, to);
  if (!idx) return std::unexpected(idx.error());
  auto normalized = privacy::normalize_address(channel, to);
  if (!normalized) return std::unexpected(normalized.error());
  const Customer& c = **found;
  auto sealed = vault_.seal(tx, c.subject_id, {"customers", "address", *idx}, *normalized);
  if (!sealed) return std::unexpected(sealed.error());
  if (auto st = store_.set_address(tx, c.id, *idx, *sealed); !st) return std::unexpected(st.error());
  return true;
}

Result<Customer> CustomerDirectory::find_or_create(storage::Tx& tx, privacy::Channel channel,
                                                   std::string_view address, std::string_view language) {
  auto idx = index_.of(channel, address);
  if (!idx) return std::unexpected(idx.error());
  auto rec = store_.by_index(tx, *idx);
  if (!rec) return std::unexpected(rec.error());
  if (rec->has_value()) {
    Customer c = from_record(**rec);
    if (auto normalized = privacy::normalize_address(channel, address)) c.known_address = std::move(*normalized);
    return c;
  }
  rec = store_.by_alias(tx, *idx);
  if (!rec) return std::unexpected(rec.error());
  if (rec->has_value()) return from_record(**rec);

  auto normalized = privacy::normalize_address(channel, address);
  if (!normalized) return std::unexpected(normalized.error());
  auto subject = vault_.create_subject(tx);
  if (!subject) return std::unexpected(subject.error());
  auto sealed = vault_.seal(tx, *subject, {"customers", "address", *idx}, *normalized);
  if (!sealed) return std::unexpected(sealed.error());
  storage::CustomerRecord r;
  r.subject_id = *subject;
  r.channel = std::string(privacy::to_string(channel));
  r.address_index = *idx;
  r.address_sealed = std::move(*sealed);
  r.language = std::string(language);
  r.created_at = r.last_active_at = unix_seconds(clock_.now());
  auto id = store_.insert(tx, r);
  if (!id) return std::unexpected(id.error());
  r.id = *id;
  Customer c = from_record(r);
  c.created = true;
  c.known_address = std::move(*normalized);
  return c;
}

Result<std::optional<Customer>> CustomerDirectory::by_id(storage::Tx& tx, std::int64_t id) {
  auto rec = store_.by_id(tx, id);
  if (!rec) return std::unexpected(rec.error());
  if (!rec->has_value()) return std::optional<Customer>();
  return std::optional<Customer>(from_record(**rec));
}

Result<std::string> CustomerDirectory::address_of(storage::Tx& tx, const Customer& c) {
  if (!c.known_address.empty()) return c.known_address;
  auto rec = store_.by_id(tx, c.id);
  if (!rec) return std::unexpected(rec.error());
  if (!rec->has_value()) return fail(Errc::not_found, "no such customer");
  return vault_.open(tx, c.subject_id, {"customers", "address", (*rec)->address_index}, (*rec)->address_sealed);
}

Status CustomerDirectory::set_language(storage::Tx& tx, std::int64_t id, const std::string& language) {
  return store_.set_language(tx, id, language);
}

Status CustomerDirectory::touch(storage::Tx& tx, std::int64_t id) {
  return store_.touch(tx, id, unix_seconds(clock_.now()));
}

Status CustomerDirectory::set_profile_name(storage::Tx& tx, const Customer& c, std::string_view name) {
  if (!text::is_valid_utf8(name)) return ok();
  std::string clean;
  for (char ch : name) {
    if (static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f) clean += ch;
  }
  clean = text::utf8_truncate(text::trim(clean), kMaxProfileNameChars);
  if (clean.empty()) return ok();
  const std::string row = std::to_string(c.id);
  auto sealed = vault_.seal(tx, c.subject_id, {"customers", "profile_name_sealed", row}, clean);
  if (!sealed) return std::unexpected(sealed.error());
  return store_.set_profile_name(tx, c.id, *sealed);
}

Status CustomerDirectory::add_transcript(storage::Tx& tx, const Customer& c, std::string_view direction,
                                         std::string_view text) {
  // The row id is not known before the insert; the place binds the customer and the column.
  const std::string row = std::to_string(c.id);
  auto sealed = vault_.seal(tx, c.subject_id, {"chat_transcript", "body_sealed", row}, text);
  if (!sealed) return std::unexpected(sealed.error());
  auto id = store_.add_transcript(tx, c.id, direction, *sealed, unix_seconds(clock_.now()));
  if (!id) return std::unexpected(id.error());
  return ok();
}

}  // namespace comptoir::commerce
