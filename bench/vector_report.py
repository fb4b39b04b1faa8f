"""The vcm::vector table (issue 14): for each x workload, vcm::vector on vcm (xNv) against the
fastest std::vector on any malloc (xN), and its peak RSS against the smallest std::vector's."""

TARGET_SPEEDUP, TARGET_RSS = 1.5, 1.0


def markdown(table, modes, names):
    rows = []
    for x, _, desc in modes:
        mine = table.get(x + "v", {}).get("vcm")
        std = {a: c for a, c in table.get(x, {}).items() if a in names}
        if not mine or not std:
            continue
        fast = min(std, key=lambda a: std[a]["time"])
        lean = min(std, key=lambda a: std[a]["rss"])
        speed = std[fast]["time"] / mine["time"]
        rss = mine["rss"] / std[lean]["rss"]
        met = speed >= TARGET_SPEEDUP and rss <= TARGET_RSS
        rows.append("| %s %s | %.3f s, %.1f MiB | %.3f s (%s) | %.1f MiB (%s) | **%.2f×** | "
                    "**%.2f×** | %s |" % (x, desc, mine["time"], mine["rss"], std[fast]["time"],
                                          fast, std[lean]["rss"], lean, speed, rss,
                                          "met" if met else "missed"))
    if not rows:
        return ""
    return "\n".join([
        "", "### vcm::vector against std::vector", "",
        "vcm::vector on vcm (xNv) against std::vector on the fastest malloc for the row "
        "(xN, any of the columns above); peak RSS against the smallest std::vector's. "
        "Target: %.1f× faster, RSS ≤ %.1f×." % (TARGET_SPEEDUP, TARGET_RSS), "",
        "| workload | vcm::vector | fastest std::vector | smallest std::vector RSS | speed-up "
        "| RSS ratio | target |",
        "|---|---:|---:|---:|---:|---:|---|"] + rows) + "\n"
