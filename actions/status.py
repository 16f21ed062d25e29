"""Questions about the resident's own tickets: "我上周报的路灯修了没有", a ticket code, "满意"."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import texts
from actions.deps import UsesDeps
from actions.tracker import nlu, speaker, text
from nlu.conversation import asks_about_earlier
from tickets import messages
from tickets.errors import NotFound, StoreUnavailable
from tickets.usecases import residents

log = logging.getLogger(__name__)


class ActionTicketStatus(UsesDeps, Action):
    """Answer with the status and latest progress of the ticket asked about (or the list to pick from)."""

    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not asks_about_earlier(text(tracker)) and tracker.active_loop.get("name") is None:
            # Not about an earlier report ("我要投诉物业公司"): a report, or a question what about.
            if nlu(tracker).get("ranking"):
                return [FollowupAction("action_start_report")]
            dispatcher.utter_message(response="utter_what_problem")
            return []
        who = speaker(tracker)
        if who is None:
            dispatcher.utter_message(response="utter_telegram_only")
            return []
        try:
            answer = await self.deps.write(
                residents.find_for_question, self.deps.domain, speaker=who, text=text(tracker)
            )
        except NotFound as e:
            dispatcher.utter_message(text=str(e))
            return []
        except StoreUnavailable as e:
            log.warning("status question of %s postponed: %s", who.sender, e)
            dispatcher.utter_message(json_message={"minwei": {"retry_later": True}})
            return [UserUtteranceReverted()]
        if answer.ticket is not None:
            body = texts.ticket_status(answer.ticket, self.deps.domain.settings.timezone)
            dispatcher.utter_message(
                json_message={"minwei": {"text": body, "ticket_code": answer.ticket.code}}
            )
        elif answer.choices:
            dispatcher.utter_message(text=texts.status_choices(answer.choices))
        else:
            dispatcher.utter_message(text=messages.MY_NONE)
        return []


class ActionRateHint(UsesDeps, Action):
    """A rating typed in words: point to the buttons (sent again under the ticket awaiting one)."""

    def name(self) -> str:
        return "action_rate_hint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        who = speaker(tracker)
        if who is None:
            dispatcher.utter_message(response="utter_telegram_only")
            return []
        try:
            code = await self.deps.write(residents.latest_resolved, speaker=who)
        except StoreUnavailable:
            dispatcher.utter_message(json_message={"minwei": {"retry_later": True}})
            return [UserUtteranceReverted()]
        except NotFound:  # a web sender that is no web resident
            dispatcher.utter_message(response="utter_telegram_only")
            return []
        if code is None:
            dispatcher.utter_message(response="utter_nothing_to_rate")
            return []
        dispatcher.utter_message(
            json_message={
                "minwei": {
                    "text": texts.rate_with_buttons(code),
                    "reply_markup": messages.rating_keyboard(code),
                    "ticket_code": code,
                }
            }
        )
        return []
