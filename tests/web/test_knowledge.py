"""The knowledge base (知识库) and the quick replies (常用话术) through the console: supervisors write them, every
staff member reads them, the intake page finds answers by the Chinese words of a caller's question."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.services.people.organisation import create_project, limit_user_to_projects
from app.services.people.users import find_user
from tests.console_client import Browser
from tests.web.front_desk import person

FEE_ANSWER = {"title": "物业费怎么交？", "keywords": "物业费，缴费、交费", "category": "收费",
              "answer": "物业费按季度预交，可在公众号或前台缴纳。"}
PARKING_ANSWER = {"title": "停车月卡怎么办理？", "keywords": "停车 车位 月卡", "category": "停车",
                  "answer": "带行驶证到物业服务中心登记，月卡 300 元/月。"}


@pytest.fixture
def estate(app):
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")


@pytest.fixture
def supervisor(app, make_user, estate) -> Browser:
    return person(app, make_user, "chen", "cs_supervisor")


@pytest.fixture
def agent(app, make_user, estate) -> Browser:
    return person(app, make_user, "wang", "cs_agent")


def write_answer(browser: Browser, fields: dict, answer_id: int | None = None, projects: tuple[str, ...] = ()):
    browser.get("/knowledge/new")
    path = "/knowledge/new" if answer_id is None else f"/knowledge/{answer_id}/edit"
    return browser.post(path, {**fields, "project_keys": list(projects)})


def new_answer(browser: Browser, fields: dict, projects: tuple[str, ...] = ()) -> int:
    response = write_answer(browser, fields, projects=projects)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def titles(browser: Browser, text: str, project: str = "") -> list[str]:
    response = browser.get("/knowledge/search", query_string={"q": text, "project": project})
    assert response.status_code == 200
    return [answer["title"] for answer in response.json["answers"]]


def test_a_supervisor_writes_an_answer_and_agents_read_it(supervisor, agent):
    answer_id = new_answer(supervisor, FEE_ANSWER)

    page = agent.get(f"/knowledge/{answer_id}").get_data(as_text=True)
    assert "物业费怎么交？" in page and "物业费按季度预交" in page and "所有楼盘" in page
    assert "物业费怎么交？" in agent.get("/knowledge").get_data(as_text=True)
    keywords = re.findall(r'<span class="badge[^"]*">([^<]+)</span>', page)
    assert keywords == ["物业费", "缴费", "交费"]


def test_the_caller_s_question_finds_the_answer_by_its_chinese_words(supervisor, agent):
    new_answer(supervisor, FEE_ANSWER)
    new_answer(supervisor, PARKING_ANSWER)

    assert titles(agent, "业主问物业费怎么交，能不能微信付") == ["物业费怎么交？"]
    assert titles(agent, "物业费") == ["物业费怎么交？"]
    assert titles(agent, "物业") == ["物业费怎么交？"]  # still typing the word
    assert titles(agent, "地下车库的车位月卡到期了") == ["停车月卡怎么办理？"]
    assert titles(agent, "厨房水管漏水") == []
    assert titles(agent, "物") == []  # one character says nothing yet


def test_an_answer_for_some_projects_is_offered_only_there(supervisor, agent, app, make_user):
    new_answer(supervisor, FEE_ANSWER, projects=("binjiang",))

    assert titles(agent, "物业费", project="binjiang") == ["物业费怎么交？"]
    assert titles(agent, "物业费", project="lanting") == []
    lanting_agent = person(app, make_user, "li", "cs_agent")
    limit_user_to_projects(find_user("li").id, ["lanting"])
    assert titles(lanting_agent, "物业费") == []


def test_a_supervisor_edits_an_answer_and_the_change_is_audited(supervisor, agent):
    answer_id = new_answer(supervisor, FEE_ANSWER)

    response = write_answer(supervisor, {**FEE_ANSWER, "keywords": "管理费", "answer": "请到前台缴纳。"}, answer_id)

    assert response.status_code == 302
    assert titles(agent, "管理费多少钱") == ["物业费怎么交？"]
    assert "请到前台缴纳。" in agent.get(f"/knowledge/{answer_id}").get_data(as_text=True)
    actions = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.instance_id.is_(None))).all()
    assert actions.count("knowledge_answer_saved") == 2


def test_a_retired_answer_is_no_longer_offered_and_can_be_brought_back(supervisor, agent):
    answer_id = new_answer(supervisor, FEE_ANSWER)

    assert supervisor.post(f"/knowledge/{answer_id}/retire", {"retired": "1"}).status_code == 302
    assert titles(agent, "物业费") == []
    assert "物业费怎么交？" not in agent.get("/knowledge").get_data(as_text=True)
    assert "物业费怎么交？" in supervisor.get("/knowledge?retired=1").get_data(as_text=True)

    assert supervisor.post(f"/knowledge/{answer_id}/retire", {"retired": "0"}).status_code == 302
    assert titles(agent, "物业费") == ["物业费怎么交？"]


def test_an_answer_without_title_or_text_is_refused_and_what_was_typed_is_kept(supervisor):
    response = write_answer(supervisor, {"title": "", "keywords": "停车", "answer": "", "category": "停车"})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="title-error"' in page and 'id="answer-error"' in page
    assert 'value="停车"' in page


def test_an_overlong_answer_is_refused_with_its_length(supervisor):
    response = write_answer(supervisor, {**FEE_ANSWER, "answer": "长" * 4001})
    assert response.status_code == 422
    assert "4001" in response.get_data(as_text=True)


def test_agents_may_read_but_not_write_the_knowledge_base(supervisor, agent):
    answer_id = new_answer(supervisor, FEE_ANSWER)

    assert agent.get("/knowledge/new").status_code == 403
    assert write_answer(agent, PARKING_ANSWER).status_code == 403
    assert write_answer(agent, PARKING_ANSWER, answer_id).status_code == 403
    assert agent.post(f"/knowledge/{answer_id}/retire", {"retired": "1"}).status_code == 403
    assert titles(agent, "物业费") == ["物业费怎么交？"]
    assert 'id="new-answer"' not in agent.get("/knowledge").get_data(as_text=True)


def test_a_limited_supervisor_edits_only_answers_of_their_projects(supervisor, app, make_user):
    everywhere = new_answer(supervisor, FEE_ANSWER)
    limited = person(app, make_user, "zhao", "cs_supervisor")
    limit_user_to_projects(find_user("zhao").id, ["lanting"])

    assert write_answer(limited, FEE_ANSWER, everywhere).status_code == 403
    assert write_answer(limited, PARKING_ANSWER, projects=("binjiang",)).status_code == 422
    assert write_answer(limited, PARKING_ANSWER, projects=("lanting",)).status_code == 302


def test_an_unknown_answer_is_404(agent):
    assert agent.get("/knowledge/999").status_code == 404


# --- quick replies --------------------------------------------------------------------------------------------


def replies(browser: Browser) -> list[tuple[str, str]]:
    response = browser.get("/quick-replies/data")
    assert response.status_code == 200
    return [(reply["title"], reply["body"]) for reply in response.json["replies"]]


def test_a_supervisor_writes_edits_and_deletes_quick_replies_agents_insert(supervisor, agent):
    supervisor.get("/quick-replies")
    assert supervisor.post("/quick-replies", {"title": "预约上门", "body": "已与业主预约上门时间。"}).status_code == 302
    assert replies(agent) == [("预约上门", "已与业主预约上门时间。")]
    reply_id = agent.get("/quick-replies/data").json["replies"][0]["id"]

    assert supervisor.post(f"/quick-replies/{reply_id}", {"title": "预约上门",
                                                           "body": "已预约明早 9 点上门。"}).status_code == 302
    assert replies(agent) == [("预约上门", "已预约明早 9 点上门。")]
    assert "已预约明早 9 点上门。" in agent.get("/quick-replies").get_data(as_text=True)

    assert supervisor.post(f"/quick-replies/{reply_id}/delete").status_code == 302
    assert replies(agent) == []


def test_a_quick_reply_needs_a_title_and_a_text(supervisor):
    supervisor.get("/quick-replies")
    response = supervisor.post("/quick-replies", {"title": "", "body": "已联系业主。"})
    assert response.status_code == 422
    assert "已联系业主。" in response.get_data(as_text=True)
    assert replies(supervisor) == []


def test_agents_may_not_write_quick_replies(supervisor, agent):
    supervisor.get("/quick-replies")
    supervisor.post("/quick-replies", {"title": "致歉", "body": "非常抱歉。"})
    reply_id = agent.get("/quick-replies/data").json["replies"][0]["id"]

    agent.get("/quick-replies")
    assert agent.post("/quick-replies", {"title": "x", "body": "y"}).status_code == 403
    assert agent.post(f"/quick-replies/{reply_id}", {"title": "x", "body": "y"}).status_code == 403
    assert agent.post(f"/quick-replies/{reply_id}/delete").status_code == 403
    assert replies(agent) == [("致歉", "非常抱歉。")]


def test_the_demo_estate_comes_with_answers_agents_find(app, make_user):
    from app.demo.seed import create_demo_estate

    create_demo_estate()
    agent = person(app, make_user, "wang", "cs_agent")

    assert titles(agent, "业主问物业费怎么交") == ["物业费怎么交？"]
    assert titles(agent, "想办装修申请") == ["装修申请要办哪些手续？"]
    assert titles(agent, "车位月卡") == ["停车月卡怎么办理？"]
    assert len(replies(agent)) >= 5
