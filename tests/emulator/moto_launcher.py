"""Local AWS for Budget Guard's tests: moto's server, plus what moto lacks.

Production code calls the Budgets API as AWS documents it and never bends around the
emulator, so where moto 5.2 lacks a Budgets action, or gets one visibly wrong, this file
adds it. moto dispatches each Budgets action to the method of BudgetsResponse named after
it in snake_case, so setting methods on that class is enough. They work on the backend's
Budget objects: `budget` (the dict as sent) and `notifications`, whose items keep
`details` (the Notification dict) and `subscribers` (the list of Subscriber dicts).

Added or replaced:
  UpdateBudget, UpdateNotification, CreateSubscriber, DeleteSubscriber, UpdateSubscriber,
  DescribeSubscribersForNotification, DescribeBudgetNotificationsForAccount, TagResource,
  UntagResource, ListTagsForResource, CreateBudget (stores ResourceTags), DescribeBudget
  (honours ShowFilterExpression), DescribeBudgets, DescribeNotificationsForBudget and
  DescribeBudgetNotificationsForAccount (real paging: MaxResults, NextToken),
  CreateNotification and DeleteNotification (duplicates, limits and NotFound as AWS does),
  and the Budgets actions, which moto lacks: CreateBudgetAction, UpdateBudgetAction,
  DeleteBudgetAction, DescribeBudgetAction, DescribeBudgetActionsForBudget and
  DescribeBudgetActionsForAccount (kept on the Budget object as `actions`, dicts shaped as the
  API's Action; validated against botocore's shapes; paged). Actions are never executed here.

Errors are JSON bodies with `__type` (JsonRESTError), which the Rust SDK maps to its
typed errors (NotFoundException, DuplicateRecordException, ...).

Also: when env BUDGET_GUARD_CALL_LOG names a file, every API call the server handles is
appended to it as one line `<service> <Action>` before it runs, so tests can count writes.

Usage: python moto_launcher.py [--port-file FILE] PORT   (PORT 0: pick a free port and
write it to FILE; the Rust test kit and scripts/emulator.sh read it from there). With env
BUDGET_GUARD_EXIT_WITH_PARENT=<pid>, it exits when that parent process is gone.
"""

import argparse
import base64
import binascii
import json
import os
import re
import socket
import sys
import threading
import time
import uuid

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.core.utils import unix_time
from moto.budgets.models import Budget, Notification
from moto.budgets.responses import BudgetsResponse
import moto.server

# Limits AWS enforces (botocore's model and the Budgets user guide).
MAX_NOTIFICATIONS = 10
MAX_EMAIL_SUBSCRIBERS = 10
MAX_SNS_SUBSCRIBERS = 1


def err(kind, message):
    return JsonRESTError(kind, message)


# ---------------------------------------------------------------- call log
# BaseResponse.call_action is where every JSON and query protocol request (Budgets, SNS,
# SSM, CloudWatch, Secrets Manager, STS) learns its action name and runs it. Logging
# there, before the action runs, means the line is on disk before the client sees the
# response. Names are the SigV4 signing names, as AWS_ENDPOINT_URL users know them.
SIGNING_NAMES = {"cloudwatch": "monitoring"}
_log_lock = threading.Lock()
_log_file = None
_original_call_action = BaseResponse.call_action


def _logged_call_action(self):
    global _log_file
    path = os.environ.get("BUDGET_GUARD_CALL_LOG")
    if path:
        service = SIGNING_NAMES.get(self.service_name, self.service_name)
        with _log_lock:
            if _log_file is None:
                _log_file = open(path, "a", encoding="utf-8")
            _log_file.write(f"{service} {self._get_action()}\n")
            _log_file.flush()
    return _original_call_action(self)


BaseResponse.call_action = _logged_call_action


# ---------------------------------------------------------------- helpers
def _budget(self, name, verb):
    account = self._get_param("AccountId")
    budget = self.backend.budgets[account].get(name)
    if budget is None:
        raise err(
            "NotFoundException",
            f"Unable to {verb}: {name} - the budget doesn't exist.",
        )
    return budget


def _same_notification(a, b):
    # AWS identifies a notification by these four; ThresholdType defaults to PERCENTAGE.
    return (
        a.get("NotificationType") == b.get("NotificationType")
        and a.get("ComparisonOperator") == b.get("ComparisonOperator")
        and float(a.get("Threshold", -1)) == float(b.get("Threshold", -2))
        and a.get("ThresholdType", "PERCENTAGE") == b.get("ThresholdType", "PERCENTAGE")
    )


def _same_subscriber(a, b):
    return a.get("SubscriptionType") == b.get("SubscriptionType") and a.get(
        "Address"
    ) == b.get("Address")


def _notification(budget, details, name):
    for n in budget.notifications:
        if _same_notification(n.details, details):
            return n
    raise err(
        "NotFoundException",
        f"Unable to find notification {json.dumps(details)} for budget: {name}",
    )


def _check_subscriber_limits(subscribers):
    emails = sum(1 for s in subscribers if s.get("SubscriptionType") == "EMAIL")
    sns = sum(1 for s in subscribers if s.get("SubscriptionType") == "SNS")
    if emails > MAX_EMAIL_SUBSCRIBERS or sns > MAX_SNS_SUBSCRIBERS:
        raise err(
            "CreationLimitExceededException",
            "A notification can have at most 1 SNS and 10 email subscribers.",
        )


def _page(self, items, max_default, max_limit):
    """One page of items: (page, next_token or None). Tokens are opaque offsets."""
    max_results = self._get_param("MaxResults")
    if max_results is None:
        max_results = max_default
    if not isinstance(max_results, int) or not 1 <= max_results <= max_limit:
        raise err(
            "InvalidParameterException",
            f"MaxResults must be between 1 and {max_limit}.",
        )
    token = self._get_param("NextToken")
    start = 0
    if token:
        try:
            start = int(base64.b64decode(token, validate=True).decode().removeprefix("o:"))
        except (ValueError, binascii.Error):
            raise err("InvalidNextTokenException", "Invalid NextToken.") from None
        if start < 0 or start > len(items):
            raise err("InvalidNextTokenException", "Invalid NextToken.")
    end = start + max_results
    next_token = base64.b64encode(f"o:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], next_token


def _respond(body):
    return json.dumps({k: v for k, v in body.items() if v is not None})


def _shown(budget_dict, show_filter_expression):
    # AWS returns FilterExpression only when ShowFilterExpression is true.
    if not show_filter_expression:
        budget_dict.pop("FilterExpression", None)
    return budget_dict


def _budget_by_arn(self, arn):
    # arn:aws:budgets::<account>:budget/<name>
    try:
        _, _, _, _, account, resource = arn.split(":", 5)
        kind, name = resource.split("/", 1)
        assert kind == "budget"
    except (ValueError, AssertionError):
        raise err("InvalidParameterException", f"Invalid ResourceARN: {arn}") from None
    budget = self.backend.budgets[account].get(name)
    if budget is None:
        raise err("NotFoundException", f"Resource {arn} doesn't exist.")
    return budget


# ---------------------------------------------------------------- budgets
_original_create_budget = BudgetsResponse.create_budget


def create_budget(self):
    for n in self._get_param("NotificationsWithSubscribers", []):
        _check_subscriber_limits(n.get("Subscribers", []))
    body = _original_create_budget(self)
    name = self._get_param("Budget")["BudgetName"]
    budget = self.backend.budgets[self._get_param("AccountId")][name]
    budget.tags = list(self._get_param("ResourceTags", []))
    return body


def describe_budget(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "get budget")
    return _respond(
        {"Budget": _shown(budget.to_dict(), self._get_param("ShowFilterExpression"))}
    )


def describe_budgets(self):
    account = self._get_param("AccountId")
    show = self._get_param("ShowFilterExpression")
    budgets = list(self.backend.budgets[account].values())
    page, token = _page(self, budgets, 100, 1000)
    return _respond(
        {"Budgets": [_shown(b.to_dict(), show) for b in page], "NextToken": token}
    )


def update_budget(self):
    # AWS replaces the whole definition with NewBudget (a field left out is gone), but
    # the name and the spend AWS has calculated stay. moto's Budget() validates limits.
    new = dict(self._get_param("NewBudget"))
    name = new.get("BudgetName")
    budget = _budget(self, name, "update budget")
    old = budget.budget
    if "CalculatedSpend" in old:
        new["CalculatedSpend"] = old["CalculatedSpend"]
    if "TimePeriod" not in new:
        new["TimePeriod"] = old["TimePeriod"]
    replacement = Budget(new, [])  # raises InvalidParameterException without a limit
    budget.budget = replacement.budget
    budget.budget["LastUpdatedTime"] = unix_time()
    return _respond({})


# ---------------------------------------------------------------- notifications
def create_notification(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "create notification")
    details = self._get_param("Notification")
    subscribers = list(self._get_param("Subscribers", []))
    if any(_same_notification(n.details, details) for n in budget.notifications):
        raise err(
            "DuplicateRecordException",
            f"Unable to create notification for budget: {name} - the notification already exists.",
        )
    if len(budget.notifications) >= MAX_NOTIFICATIONS:
        raise err(
            "CreationLimitExceededException",
            f"A budget can have at most {MAX_NOTIFICATIONS} notifications.",
        )
    _check_subscriber_limits(subscribers)
    budget.notifications.append(Notification(details, subscribers))
    return _respond({})


def delete_notification(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "delete notification")
    target = _notification(budget, self._get_param("Notification"), name)
    budget.notifications.remove(target)
    return _respond({})


def update_notification(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "update notification")
    old = self._get_param("OldNotification")
    new = self._get_param("NewNotification")
    target = _notification(budget, old, name)
    if not _same_notification(old, new) and any(
        _same_notification(n.details, new) for n in budget.notifications
    ):
        raise err(
            "DuplicateRecordException",
            f"Unable to update notification for budget: {name} - the notification already exists.",
        )
    target.details = new  # subscribers stay with the notification
    return _respond({})


def describe_notifications_for_budget(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "get notifications")
    page, token = _page(self, [n.details for n in budget.notifications], 100, 100)
    return _respond({"Notifications": page, "NextToken": token})


def describe_budget_notifications_for_account(self):
    # Per budget its notifications, without subscribers. MaxResults counts budgets (default
    # 50, at most 1000, as botocore's model says). A budget without notifications is not
    # listed: readers must take a budget missing here as one without notifications.
    account = self._get_param("AccountId")
    listed = [
        {"BudgetName": name, "Notifications": [n.details for n in b.notifications]}
        for name, b in self.backend.budgets[account].items()
        if b.notifications
    ]
    page, token = _page(self, listed, 50, 1000)
    return _respond({"BudgetNotificationsForAccount": page, "NextToken": token})


# ---------------------------------------------------------------- subscribers
def create_subscriber(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "create subscriber")
    target = _notification(budget, self._get_param("Notification"), name)
    subscriber = self._get_param("Subscriber")
    if any(_same_subscriber(s, subscriber) for s in target.subscribers):
        raise err(
            "DuplicateRecordException",
            f"Unable to create subscriber for budget: {name} - the subscriber already exists.",
        )
    _check_subscriber_limits(target.subscribers + [subscriber])
    target.subscribers.append(subscriber)
    return _respond({})


def _subscriber_index(target, subscriber, name):
    for i, s in enumerate(target.subscribers):
        if _same_subscriber(s, subscriber):
            return i
    raise err(
        "NotFoundException",
        f"Unable to find subscriber {subscriber.get('Address')} for budget: {name}",
    )


def delete_subscriber(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "delete subscriber")
    target = _notification(budget, self._get_param("Notification"), name)
    del target.subscribers[_subscriber_index(target, self._get_param("Subscriber"), name)]
    return _respond({})


def update_subscriber(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "update subscriber")
    target = _notification(budget, self._get_param("Notification"), name)
    old = self._get_param("OldSubscriber")
    new = self._get_param("NewSubscriber")
    i = _subscriber_index(target, old, name)
    if not _same_subscriber(old, new) and any(
        _same_subscriber(s, new) for s in target.subscribers
    ):
        raise err(
            "DuplicateRecordException",
            f"Unable to update subscriber for budget: {name} - the subscriber already exists.",
        )
    updated = target.subscribers[:i] + [new] + target.subscribers[i + 1 :]
    _check_subscriber_limits(updated)
    target.subscribers[:] = updated
    return _respond({})


def describe_subscribers_for_notification(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "get subscribers")
    target = _notification(budget, self._get_param("Notification"), name)
    page, token = _page(self, list(target.subscribers), 100, 100)
    return _respond({"Subscribers": page, "NextToken": token})


# ---------------------------------------------------------------- tags
def tag_resource(self):
    budget = _budget_by_arn(self, self._get_param("ResourceARN"))
    tags = getattr(budget, "tags", [])
    new = self._get_param("ResourceTags", [])
    keys = {t["Key"] for t in new}
    budget.tags = [t for t in tags if t["Key"] not in keys] + list(new)
    return _respond({})


def untag_resource(self):
    budget = _budget_by_arn(self, self._get_param("ResourceARN"))
    keys = set(self._get_param("ResourceTagKeys", []))
    budget.tags = [t for t in getattr(budget, "tags", []) if t["Key"] not in keys]
    return _respond({})


def list_tags_for_resource(self):
    budget = _budget_by_arn(self, self._get_param("ResourceARN"))
    return _respond({"ResourceTags": list(getattr(budget, "tags", []))})


for _fn in (
    create_budget,
    describe_budget,
    describe_budgets,
    update_budget,
    create_notification,
    delete_notification,
    update_notification,
    describe_notifications_for_budget,
    describe_budget_notifications_for_account,
    create_subscriber,
    delete_subscriber,
    update_subscriber,
    describe_subscribers_for_notification,
    tag_resource,
    untag_resource,
    list_tags_for_resource,
):
    setattr(BudgetsResponse, _fn.__name__, _fn)


# ---------------------------------------------------------------- budget actions
# Shapes from botocore's budgets/2016-10-20 model: RoleArn, PolicyArn, Roles, Subscribers.
ROLE_ARN = re.compile(
    r"^arn:aws(-eusc|-cn|-us-gov|-iso|-iso-[a-z]{1})?:iam::\d{12}:role(\u002F[\u0021-\u007F]+\u002F|\u002F)[\w+=,.@-]+$"
)
POLICY_ARN = re.compile(
    r"^arn:aws(-eusc|-cn|-us-gov|-iso|-iso-[a-z]{1})?:iam::(\d{12}|aws):policy(\u002F[\u0021-\u007F]+\u002F|\u002F)[\w+=,.@-]+$"
)
ROLE = re.compile(r"^([\u0021-\u007F]+\u002F)?[\w+=,.@-]+$")
ACTION_TYPES = ("APPLY_IAM_POLICY", "APPLY_SCP_POLICY", "RUN_SSM_DOCUMENTS")
APPROVAL_MODELS = ("AUTOMATIC", "MANUAL")
NOTIFICATION_TYPES = ("ACTUAL", "FORECASTED")
THRESHOLD_TYPES = ("PERCENTAGE", "ABSOLUTE_VALUE")
MAX_ACTION_SUBSCRIBERS = 11


def _invalid(message):
    return err("InvalidParameterException", message)


def _check_action_fields(fields):
    # Only the fields present: UpdateBudgetAction sends what changes.
    if "NotificationType" in fields and fields["NotificationType"] not in NOTIFICATION_TYPES:
        raise _invalid(f"Invalid NotificationType: {fields['NotificationType']}")
    if "ActionType" in fields and fields["ActionType"] not in ACTION_TYPES:
        raise _invalid(f"Invalid ActionType: {fields['ActionType']}")
    if "ApprovalModel" in fields and fields["ApprovalModel"] not in APPROVAL_MODELS:
        raise _invalid(f"Invalid ApprovalModel: {fields['ApprovalModel']}")
    if "ExecutionRoleArn" in fields and not ROLE_ARN.match(fields["ExecutionRoleArn"] or ""):
        raise _invalid(f"Invalid ExecutionRoleArn: {fields['ExecutionRoleArn']}")
    if "ActionThreshold" in fields:
        t = fields["ActionThreshold"] or {}
        if t.get("ActionThresholdType") not in THRESHOLD_TYPES or not isinstance(
            t.get("ActionThresholdValue"), (int, float)
        ):
            raise _invalid("ActionThreshold needs ActionThresholdValue and ActionThresholdType")
    if "Subscribers" in fields:
        subscribers = fields["Subscribers"] or []
        if not 1 <= len(subscribers) <= MAX_ACTION_SUBSCRIBERS:
            raise _invalid(f"An action has 1 to {MAX_ACTION_SUBSCRIBERS} subscribers.")
    if "Definition" in fields:
        iam = (fields["Definition"] or {}).get("IamActionDefinition")
        if iam is not None:
            if not POLICY_ARN.match(iam.get("PolicyArn") or ""):
                raise _invalid(f"Invalid PolicyArn: {iam.get('PolicyArn')}")
            targets = [iam.get(k) for k in ("Roles", "Groups", "Users") if iam.get(k) is not None]
            if not targets or any(not 1 <= len(t) <= 100 for t in targets):
                raise _invalid("An IAM action definition names 1 to 100 roles, groups or users.")
            if any(not ROLE.match(r) or len(r) > 576 for r in iam.get("Roles") or []):
                raise _invalid("Invalid role name.")


def _actions(budget):
    if not hasattr(budget, "actions"):
        budget.actions = []
    return budget.actions


def _action(self, budget, verb):
    action_id = self._get_param("ActionId")
    for action in _actions(budget):
        if action["ActionId"] == action_id:
            return action
    raise err(
        "NotFoundException",
        f"Unable to {verb}: action {action_id} of budget {budget.budget['BudgetName']} doesn't exist.",
    )


def create_budget_action(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "create budget action")
    required = (
        "NotificationType",
        "ActionType",
        "ActionThreshold",
        "Definition",
        "ExecutionRoleArn",
        "ApprovalModel",
        "Subscribers",
    )
    fields = {k: self._get_param(k) for k in required}
    missing = [k for k, v in fields.items() if v is None]
    if missing:
        raise _invalid(f"Missing required parameters: {', '.join(missing)}")
    _check_action_fields(fields)
    action = dict(fields, ActionId=str(uuid.uuid4()), BudgetName=name, Status="STANDBY")
    _actions(budget).append(action)
    return _respond(
        {"AccountId": self._get_param("AccountId"), "BudgetName": name, "ActionId": action["ActionId"]}
    )


def update_budget_action(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "update budget action")
    action = _action(self, budget, "update budget action")
    changed = {
        k: self._get_param(k)
        for k in (
            "NotificationType",
            "ActionThreshold",
            "Definition",
            "ExecutionRoleArn",
            "ApprovalModel",
            "Subscribers",
        )
        if self._get_param(k) is not None
    }
    _check_action_fields(changed)
    old = json.loads(json.dumps(action))
    action.update(changed)
    return _respond(
        {
            "AccountId": self._get_param("AccountId"),
            "BudgetName": name,
            "OldAction": old,
            "NewAction": action,
        }
    )


def delete_budget_action(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "delete budget action")
    action = _action(self, budget, "delete budget action")
    _actions(budget).remove(action)
    return _respond({"AccountId": self._get_param("AccountId"), "BudgetName": name, "Action": action})


def describe_budget_action(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "describe budget action")
    action = _action(self, budget, "describe budget action")
    return _respond({"AccountId": self._get_param("AccountId"), "BudgetName": name, "Action": action})


def describe_budget_actions_for_budget(self):
    name = self._get_param("BudgetName")
    budget = _budget(self, name, "describe budget actions")
    page, token = _page(self, list(_actions(budget)), 100, 100)
    return _respond({"Actions": page, "NextToken": token})


def describe_budget_actions_for_account(self):
    account = self._get_param("AccountId")
    listed = [a for b in self.backend.budgets[account].values() for a in _actions(b)]
    page, token = _page(self, listed, 100, 100)
    return _respond({"Actions": page, "NextToken": token})


for _fn in (
    create_budget_action,
    update_budget_action,
    delete_budget_action,
    describe_budget_action,
    describe_budget_actions_for_budget,
    describe_budget_actions_for_account,
):
    setattr(BudgetsResponse, _fn.__name__, _fn)


# ---------------------------------------------------------------- main
def _exit_with_parent(parent_pid):
    # A test binary that dies without running Drop (SIGKILL, abort) must not leave an
    # emulator behind: when our parent is gone we are re-parented, so leave too.
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--port-file", help="write the port here (atomically)")
    args = parser.parse_args()
    if os.environ.get("BUDGET_GUARD_EXIT_WITH_PARENT"):
        _exit_with_parent(int(os.environ["BUDGET_GUARD_EXIT_WITH_PARENT"]))
    port = args.port or _free_port()
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    sys.stdout.flush()
    moto.server.main(["-H", "127.0.0.1", "-p", str(port)])


if __name__ == "__main__":
    main()
