"""Access policy of the ``frameworks`` blueprint: signed-in users browse and search; platform admins import."""

from pathlib import Path

from tests.access import PLATFORM_ADMIN, USER, rule

FIXTURES = Path(__file__).parent / "fixtures"


def build(world):
    from app.frameworks import operations as ops
    from app.frameworks.importers.yaml_format import parse_files

    frameworks, crosswalks = parse_files([FIXTURES / "demo-v1.yaml"])
    ops.import_batch(frameworks, crosswalks)
    world.framework_version = ops.list_frameworks()[0].current_version
    world.framework_node = ops.version_tree(world.framework_version)[0].node


POLICY = {
    "frameworks.index": rule(USER),
    "frameworks.version": rule(USER, url=lambda w: {"version_id": w.framework_version.id}),
    "frameworks.node": rule(USER, url=lambda w: {"node_id": w.framework_node.id}),
    "frameworks.search": rule(USER),
    "frameworks.import_": rule(PLATFORM_ADMIN, methods=("GET", "POST")),
}
