"""Prints how many answers the SDK interoperability suite compared."""


def pytest_terminal_summary(terminalreporter):
    from test_sdks import SUMMARY

    if SUMMARY:
        terminalreporter.section("SDK interoperability")
        for what, count in SUMMARY.items():
            terminalreporter.write_line(f"{what}: {count}")
