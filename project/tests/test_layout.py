"""
Dependencies point one way: telemedicine uses appointments, never the reverse. The one
sanctioned exception is Appointment.is_available_for_call(), which the seed's contract
puts on the model and which delegates to telemedicine.access.
"""

import ast
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
SANCTIONED = {("appointments/models.py", "telemedicine.access")}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_the_clinic_app_does_not_depend_on_the_video_visit_app():
    offending = []
    for path in sorted((BASE_DIR / "appointments").rglob("*.py")):
        relative = path.relative_to(BASE_DIR).as_posix()
        if "/tests/" in relative or "/migrations/" in relative:
            continue
        for module in imported_modules(path):
            if module.split(".")[0] == "telemedicine" and (relative, module) not in SANCTIONED:
                offending.append(f"{relative} imports {module}")
    assert offending == []


def test_the_rule_sees_an_import():
    assert "telemedicine.access" in imported_modules(BASE_DIR / "appointments" / "models.py")
