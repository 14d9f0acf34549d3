// The engine keeps declared-only data only when the data inventory declares it: the platform
// profile name (sealed in customers.profile_name_sealed) and the chat transcript (sealed rows of
// chat_transcript). By default neither is stored, whatever a channel passes in.
#include <gtest/gtest.h>
#include <sqlcipher/sqlite3.h>

#include "tests/unit/chat/engine_fixture.h"

namespace comptoir::testing {
namespace {

constexpr const char* kName = "Honorine Vasseur-Kowalczyk";

struct Row {
  std::string direction;
  std::vector<std::uint8_t> body;
};

class MinimizationTest : public ::testing::Test {
 protected:
  ChatWorld chat;

  chat::Inbound from_whatsapp(const std::string& text) {
    chat::Inbound in;
    in.channel = privacy::Channel::whatsapp;
    in.address = "16505551234";
    in.text = text;
    in.profile_name = std::string(kName) + "\x07\n";  // control characters are dropped
    return in;
  }

  std::optional<std::vector<std::uint8_t>> sealed_profile_name() {
    std::optional<std::vector<std::uint8_t>> out;
    chat.w.db->run([&](sqlite3* h) {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(h, "SELECT profile_name_sealed FROM customers", -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
          const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 0));
          out.emplace(p, p + sqlite3_column_bytes(st, 0));
        }
      }
      sqlite3_finalize(st);
      return 0;
    });
    return out;
  }

  std::vector<Row> transcript() {
    std::vector<Row> rows;
    chat.w.db->run([&](sqlite3* h) {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(h, "SELECT direction, body_sealed FROM chat_transcript ORDER BY id", -1, &st, nullptr);
      while (sqlite3_step(st) == SQLITE_ROW) {
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 1));
        rows.push_back({reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                        std::vector<std::uint8_t>(p, p + sqlite3_column_bytes(st, 1))});
      }
      sqlite3_finalize(st);
      return 0;
    });
    return rows;
  }

  commerce::Customer the_customer() {
    auto c = chat.w.in_tx<std::optional<commerce::Customer>>([&](storage::Tx& tx) {
      return chat.w.customers->find(tx, privacy::Channel::whatsapp, "16505551234");
    });
    EXPECT_TRUE(c.has_value() && c->has_value());
    return c && c->has_value() ? **c : commerce::Customer{};
  }

  std::string open(const std::vector<std::uint8_t>& sealed, std::string_view table, std::string_view column) {
    const commerce::Customer c = the_customer();
    const std::string row = std::to_string(c.id);
    auto text = chat.w.vault->open(c.subject_id, {table, column, row}, sealed);
    EXPECT_TRUE(text.has_value()) << (text ? "" : text.error().message);
    return text ? *text : "";
  }
};

TEST_F(MinimizationTest, NothingBeyondTheConversationIsKeptByDefault) {
  chat.open();
  ASSERT_TRUE(chat.engine->handle(from_whatsapp("hi")).has_value());
  ASSERT_TRUE(chat.engine->handle(from_whatsapp("cart")).has_value());
  EXPECT_FALSE(sealed_profile_name().has_value());
  EXPECT_TRUE(transcript().empty());
}

TEST_F(MinimizationTest, ADeclaredProfileNameIsKeptSealed) {
  auto s = ChatWorld::default_settings();
  s.keep_profile_name = true;
  chat.open(s);
  ASSERT_TRUE(chat.engine->handle(from_whatsapp("hi")).has_value());
  auto sealed = sealed_profile_name();
  ASSERT_TRUE(sealed.has_value());
  const std::string bytes(sealed->begin(), sealed->end());
  EXPECT_EQ(bytes.find("Honorine"), std::string::npos);
  EXPECT_EQ(open(*sealed, "customers", "profile_name_sealed"), kName);
  EXPECT_TRUE(transcript().empty());
}

TEST_F(MinimizationTest, ADeclaredTranscriptKeepsBothSidesSealed) {
  auto s = ChatWorld::default_settings();
  s.keep_transcript = true;
  chat.open(s);
  auto replies = chat.engine->handle(from_whatsapp("hi"));
  ASSERT_TRUE(replies.has_value());
  chat::Inbound tap = from_whatsapp("");
  tap.option = "cart";
  ASSERT_TRUE(chat.engine->handle(tap).has_value());
  const auto rows = transcript();
  ASSERT_GE(rows.size(), 4u);
  EXPECT_EQ(rows[0].direction, "in");
  EXPECT_EQ(open(rows[0].body, "chat_transcript", "body_sealed"), "hi");
  EXPECT_EQ(rows[1].direction, "out");
  EXPECT_EQ(open(rows[1].body, "chat_transcript", "body_sealed"), (*replies)[0].text);
  bool tapped = false;
  for (const auto& r : rows) tapped = tapped || (r.direction == "in" && open(r.body, "chat_transcript", "body_sealed") == "[option] cart");
  EXPECT_TRUE(tapped);
  EXPECT_FALSE(sealed_profile_name().has_value());
}

}  // namespace
}  // namespace comptoir::testing
