"""Let `python manage.py test [labels]` run the pytest suite, as the guide's commands expect."""


class PytestTestRunner:
    def __init__(self, verbosity=1, failfast=False, keepdb=False, **kwargs):
        self.verbosity = verbosity
        self.failfast = failfast
        self.keepdb = keepdb

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--keepdb", action="store_true", help="Preserve the test database between runs.")

    def run_tests(self, test_labels, **kwargs):
        import pytest

        argv = []
        if self.verbosity == 0:
            argv.append("--quiet")
        elif self.verbosity > 1:
            argv.append("--verbose")
        if self.failfast:
            argv.append("--exitfirst")
        if self.keepdb:
            argv.append("--reuse-db")
        # "appointments" -> the app folder; "appointments.tests.test_x" -> its file.
        for label in test_labels:
            argv.append(label if "/" in label or label.endswith(".py") else self._label_to_path(label))
        return pytest.main(argv)

    @staticmethod
    def _label_to_path(label):
        from pathlib import Path

        candidate = Path(*label.split("."))
        if candidate.with_suffix(".py").exists():
            return str(candidate.with_suffix(".py"))
        return str(candidate)
