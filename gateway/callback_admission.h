#pragma once
// Whether a job's callback_url may be taken at submit. The deliveries are signed with
// the submitting key's webhook secret, so a key without one (or no key: --auth none)
// cannot ask for them. A URL naming an address is checked against the allow-list now,
// so a refused destination is a 400 rather than a dead delivery later; a host name is
// checked on the addresses it resolves to, at each delivery (webhook_post.h). Pure.

#include <optional>
#include <string_view>

#include "common/error.h"
#include "gateway/destination_allow_list.h"

namespace batchq {

// invalid_request with a sentence, or nullopt when the URL (already parsed by
// ParseWebUrl) may be taken.
std::optional<Error> CheckCallback(std::string_view url, bool key_has_webhook_secret,
                                   const DestinationAllowList& allow);

}  // namespace batchq
