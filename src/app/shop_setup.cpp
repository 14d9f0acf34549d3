#include "src/app/shop_setup.h"

#include "privacy/registry.h"
#include "src/assets/assets.h"
#include "src/common/files.h"

namespace comptoir::app {

commerce::ShopSettings shop_settings(const config::Config& cfg) {
  commerce::ShopSettings s;
  s.currency = cfg.commerce.currency;
  s.pickup = cfg.commerce.pickup;
  s.delivery = cfg.commerce.delivery;
  s.delivery_fee = cfg.commerce.delivery_fee;
  s.delivery_vat_rate = cfg.commerce.delivery_vat_rate;
  s.free_delivery_from = cfg.commerce.free_delivery_from;
  s.max_line_quantity = cfg.commerce.max_line_quantity;
  s.default_language = cfg.shop.default_language;
  return s;
}

std::string default_public_url(const config::Config& cfg, int port) {
  std::string host = cfg.server.host;
  if (host == "0.0.0.0" || host == "::" || host.empty()) host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port);
}

chat::EngineSettings engine_settings(const config::Config& cfg, int port) {
  chat::EngineSettings e;
  e.shop_name = cfg.shop.name;
  e.public_url = cfg.shop.public_url.empty() ? default_public_url(cfg, port) : cfg.shop.public_url;
  e.page_size = cfg.chat.page_size;
  e.inactivity = std::chrono::minutes(cfg.chat.inactivity_minutes);
  return e;
}

channels::WhatsAppSettings whatsapp_settings(const config::Config& cfg) {
  channels::WhatsAppSettings s;
  if (!cfg.channels.whatsapp) return s;
  const auto& w = *cfg.channels.whatsapp;
  s.enabled = true;
  s.app_secret = SecretBytes::copy_of(w.app_secret.span());
  s.verify_token = SecretBytes::copy_of(w.verify_token.span());
  s.access_token = SecretBytes::copy_of(w.access_token.span());
  s.phone_number_id = w.phone_number_id;
  s.graph_base_url = w.graph_base_url;
  while (!s.graph_base_url.empty() && s.graph_base_url.back() == '/') s.graph_base_url.pop_back();
  s.template_name = w.template_name;
  s.template_language = w.template_language;
  s.max_message_age_seconds = std::int64_t{w.max_message_age_hours} * 3600;
  return s;
}

channels::TelegramSettings telegram_settings(const config::Config& cfg) {
  channels::TelegramSettings s;
  if (!cfg.channels.telegram) return s;
  const auto& t = *cfg.channels.telegram;
  s.enabled = true;
  s.bot_token = SecretBytes::copy_of(t.bot_token.span());
  s.secret_token = SecretBytes::copy_of(t.secret_token.span());
  s.api_base_url = t.api_base_url;
  while (!s.api_base_url.empty() && s.api_base_url.back() == '/') s.api_base_url.pop_back();
  return s;
}

Result<chat::Messages> load_messages(const config::Config& cfg) {
  if (!cfg.chat.messages_dir.empty()) return chat::Messages::load(cfg.chat.messages_dir, cfg.shop.default_language);
  std::vector<std::pair<std::string, std::string>> sources;
  for (const char* name : {"messages/en.json", "messages/fr.json", "messages/de.json"}) {
    auto body = assets::find(name);
    if (!body) return fail(Errc::internal, std::string("built-in ") + name + " is missing");
    sources.emplace_back(std::string("built-in ") + name, std::string(*body));
  }
  return chat::Messages::from_sources(sources, cfg.shop.default_language);
}

Result<PrivacySetup> load_privacy(const config::Config& cfg) {
  auto inventory = cfg.privacy.inventory_file.empty() ? privacy::default_inventory()
                                                      : privacy::load_inventory(cfg.privacy.inventory_file);
  if (!inventory) return std::unexpected(inventory.error());
  if (auto st = privacy::check_inventory(*inventory); !st) {
    const std::string where = cfg.privacy.inventory_file.empty() ? std::string("the built-in data inventory")
                                                                 : cfg.privacy.inventory_file.string();
    return fail(Errc::config, where + ": " + st.error().message);
  }
  privacy::NoticeSettings ns;
  ns.shop_name = cfg.shop.name;
  ns.shop_contact = cfg.shop.contact;
  ns.default_language = cfg.shop.default_language;
  ns.merchant_dir = cfg.privacy.notice_dir;
  auto notice = privacy::Notice::build(*inventory, ns);
  if (!notice) return std::unexpected(notice.error());
  return PrivacySetup{std::move(*inventory), std::move(*notice)};
}

void apply_inventory(const privacy::Inventory& inventory, chat::EngineSettings& engine,
                     channels::WhatsAppSettings& whatsapp, channels::TelegramSettings& telegram) {
  const bool profile = inventory.collects(privacy::kPlatformProfileCategory);
  engine.keep_profile_name = profile;
  whatsapp.read_profile_name = profile;
  telegram.read_profile_name = profile;
  engine.keep_transcript = inventory.collects(privacy::kChatTranscriptCategory);
}

Result<commerce::CatalogData> load_catalog(const config::Config& cfg, const std::optional<std::filesystem::path>& file) {
  Result<commerce::CatalogData> data =
      file ? commerce::load_catalog_file(*file, cfg.shop.default_language, cfg.commerce.currency)
           : [&]() -> Result<commerce::CatalogData> {
               auto body = assets::find("catalog.example.json");
               if (!body) return fail(Errc::internal, "built-in example catalog is missing");
               return commerce::parse_catalog(*body, "catalog.example.json", cfg.shop.default_language,
                                              cfg.commerce.currency);
             }();
  if (!data) return data;
  for (const auto& p : data->products) {
    if (p.currency != cfg.commerce.currency) {
      return fail(Errc::invalid_argument, "catalog: product " + p.sku + " is priced in " + p.currency +
                                              ", but commerce.currency is " + cfg.commerce.currency);
    }
  }
  return data;
}

}  // namespace comptoir::app
