// Turning the merchant's configuration into the commerce and chat settings, and loading the
// message catalogs and the catalog file (from the config, or the defaults built into the binary).
// Used at startup and by `init`; not thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "src/channels/outbox.h"
#include "src/chat/engine.h"
#include "src/chat/messages.h"
#include "src/commerce/catalog_json.h"
#include "src/commerce/types.h"
#include "src/config/config.h"
#include "privacy/inventory.h"
#include "privacy/notice.h"

namespace comptoir::app {

commerce::ShopSettings shop_settings(const config::Config& cfg);
chat::EngineSettings engine_settings(const config::Config& cfg, int port);
std::string default_public_url(const config::Config& cfg, int port);
Result<chat::Messages> load_messages(const config::Config& cfg);
channels::WhatsAppSettings whatsapp_settings(const config::Config& cfg);
channels::TelegramSettings telegram_settings(const config::Config& cfg);
// The data inventory (privacy.inventory_file or the built-in one), checked against the personal
// fields the code stores, and the privacy notice generated from it. Errc::config names the
// place of every problem; the server must not start without both.
struct PrivacySetup {
  privacy::Inventory inventory;
  privacy::Notice notice;
};
Result<PrivacySetup> load_privacy(const config::Config& cfg);
// What the inventory allows beyond what the shop needs (engine and channels obey it).
void apply_inventory(const privacy::Inventory& inventory, chat::EngineSettings& engine,
                     channels::WhatsAppSettings& whatsapp, channels::TelegramSettings& telegram);

// The catalog in `file`, or the example catalog built into the binary when `file` is empty.
Result<commerce::CatalogData> load_catalog(const config::Config& cfg, const std::optional<std::filesystem::path>& file);

}  // namespace comptoir::app
