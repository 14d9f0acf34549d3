// The records of processing activities (Art. 30(1) GDPR), generated from the data inventory and
// the shop's details: the controller and its DPO, each purpose as a processing activity with its
// legal bases, the categories of data subjects and of personal data, recipients, transfers to
// third countries, the time limits for erasure (retention), and a description of the technical and
// organisational security measures Comptoir applies. Holds no personal data of customers.
// JSON (format "comptoir.ropa.v1", described in docs/privacy.md) or Markdown. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "privacy/inventory.h"

namespace comptoir::privacy {

struct RopaContext {
  std::string shop_name;      // the controller's name when the inventory leaves it empty
  std::string shop_contact;   // its contact when the inventory leaves controller.email empty
  std::string language = "en";  // texts of the inventory in this language ("en" for others)
  std::int64_t generated_at = 0;  // unix seconds
};

// The security measures (Art. 32) as implemented by this version of Comptoir.
std::vector<std::string> security_measures();

std::string ropa_json(const Inventory& inventory, const RopaContext& context);
std::string ropa_markdown(const Inventory& inventory, const RopaContext& context);

inline constexpr std::string_view kRopaFormat = "comptoir.ropa.v1";

}  // namespace comptoir::privacy
