"""Every chat-platform size limit the card renderers respect, each with the document it comes from.

Hard limits are the platforms' own numbers; `*_BUDGET` constants are our safer targets below
them (with the reason). Character limits are counted in UTF-16 code units by
`formatters.text_safety.text_length`, which is never less than what the platforms count.
"""

from __future__ import annotations

from typing import Final

# --- Slack Block Kit -------------------------------------------------------------------------
# https://docs.slack.dev/reference/block-kit/blocks : "up to 50 blocks in each message, and 100
# blocks in modals or Home tabs".
SLACK_MESSAGE_BLOCKS_MAX: Final = 50
SLACK_MODAL_BLOCKS_MAX: Final = 100
# https://docs.slack.dev/reference/block-kit/blocks/section-block : text ≤ 3000, fields ≤ 10 × 2000.
SLACK_SECTION_TEXT_MAX: Final = 3000
SLACK_SECTION_FIELDS_MAX: Final = 10
SLACK_SECTION_FIELD_TEXT_MAX: Final = 2000
# https://docs.slack.dev/reference/block-kit/blocks/header-block : plain_text ≤ 150.
SLACK_HEADER_TEXT_MAX: Final = 150
# https://docs.slack.dev/reference/block-kit/blocks/context-block : ≤ 10 elements.
SLACK_CONTEXT_ELEMENTS_MAX: Final = 10
# https://docs.slack.dev/reference/block-kit/composition-objects/text-object : text ≤ 3000.
SLACK_TEXT_OBJECT_MAX: Final = 3000
# https://docs.slack.dev/reference/block-kit/block-elements/button-element :
# text ≤ 75, value ≤ 2000, action_id ≤ 255.
SLACK_BUTTON_TEXT_MAX: Final = 75
SLACK_BUTTON_VALUE_MAX: Final = 2000
SLACK_ACTION_ID_MAX: Final = 255
# https://docs.slack.dev/reference/block-kit/blocks/actions-block : ≤ 25 elements; block_id ≤ 255.
SLACK_ACTIONS_ELEMENTS_MAX: Final = 25
SLACK_BLOCK_ID_MAX: Final = 255
# https://docs.slack.dev/reference/views/modal-views : title and close ≤ 24 characters.
SLACK_MODAL_TITLE_MAX: Final = 24
SLACK_MODAL_CLOSE_MAX: Final = 24
# https://docs.slack.dev/reference/methods/chat.postMessage : `text` is truncated past 40,000.
SLACK_MESSAGE_TEXT_MAX: Final = 40_000
# Our budget for all text in one message's blocks. Slack answers `msg_blocks_too_long` well below
# the sum of the per-block limits (about 13,000 characters observed:
# https://github.com/slackapi/bolt-js/issues/2509), so a message stays under 10,000.
SLACK_MESSAGE_TEXT_BUDGET: Final = 10_000
# No documented total for views; we keep a modal's text as modest as two messages.
SLACK_MODAL_TEXT_BUDGET: Final = 20_000
# The notification fallback `text` only needs to say what the message is.
SLACK_FALLBACK_TEXT_BUDGET: Final = 500
# Continuations are posted 1 message/s into the thread; past this the card says what was left out.
SLACK_MESSAGES_MAX: Final = 15

# --- Feishu / Lark card JSON 2.0 ---------------------------------------------------------------
# https://open.feishu.cn/document/server-docs/im-v1/message/create :
# "卡片及富文本消息请求体最大不能超过30KB" (error 230025 "The length of the message content reaches
# its limit").
FEISHU_REQUEST_BODY_MAX_BYTES: Final = 30 * 1024
# Our budget for the whole request body (receive_id, msg_type and the card serialised into
# `content` by formatters.feishu_card.card_content), leaving ~5 KB for ids and SDK framing.
FEISHU_CARD_BUDGET_BYTES: Final = 25_000
# https://open.feishu.cn/document/feishu-cards/card-json-v2-structure : "一张卡片最多支持 200 个元素
# （如 tag 为 plain_text 的文本元素）或组件"; we count every object with a `tag` and keep a margin.
FEISHU_CARD_ELEMENTS_MAX: Final = 200
FEISHU_CARD_ELEMENTS_BUDGET: Final = 180
# https://open.feishu.cn/document/feishu-cards/card-json-v2-components/content-components/table :
# ≤ 5 table components per card, only at the card root (we use none).
FEISHU_TABLES_MAX: Final = 5
# https://open.feishu.cn/document/feishu-cards/card-json-v2-components/containers/collapsible-panel
# : containers nest at most five levels.
FEISHU_NESTING_MAX: Final = 5
# https://open.feishu.cn/document/feishu-cards/card-json-v2-components/interactive-components/button
# : button text ≤ 100 characters; element_id letters/digits/underscore, starts with a letter, ≤ 20.
FEISHU_BUTTON_TEXT_MAX: Final = 100
FEISHU_ELEMENT_ID_MAX: Final = 20
# The header shows one or two lines; longer titles are cut by the client anyway.
FEISHU_HEADER_TEXT_BUDGET: Final = 120
# Cards are separate messages; past this the last card says what was left out.
FEISHU_CARDS_MAX: Final = 10

# --- Discord -------------------------------------------------------------------------------------
# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
DISCORD_EMBED_TITLE_MAX: Final = 256
DISCORD_EMBED_DESCRIPTION_MAX: Final = 4096
DISCORD_EMBED_FIELDS_MAX: Final = 25
DISCORD_FIELD_NAME_MAX: Final = 256
DISCORD_FIELD_VALUE_MAX: Final = 1024
DISCORD_FOOTER_TEXT_MAX: Final = 2048
DISCORD_AUTHOR_NAME_MAX: Final = 256
# "…the sum of all characters from all embed structures in a message must not exceed 6000".
DISCORD_EMBEDS_TOTAL_MAX: Final = 6000
# https://discord.com/developers/docs/resources/message#create-message :
# ≤ 10 embeds per message, content ≤ 2000 characters.
DISCORD_EMBEDS_PER_MESSAGE_MAX: Final = 10
DISCORD_CONTENT_MAX: Final = 2000
# https://discord.com/developers/docs/components/reference#action-row and #button :
# ≤ 5 action rows × 5 buttons, custom_id ≤ 100, label ≤ 80.
DISCORD_ACTION_ROWS_MAX: Final = 5
DISCORD_BUTTONS_PER_ROW_MAX: Final = 5
DISCORD_CUSTOM_ID_MAX: Final = 100
DISCORD_BUTTON_LABEL_MAX: Final = 80
# Continuations are separate channel messages; past this the last one says what was left out.
DISCORD_MESSAGES_MAX: Final = 15
