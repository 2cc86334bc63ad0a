#include "access/disclosure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

namespace p4dp::access {
namespace {

bool IsSmall(int64_t count, int64_t threshold) { return count > 0 && count < threshold; }

// Whether showing `value` exactly next to `other` (shown) would let their difference be read
// as a small count.
bool SmallApart(int64_t value, int64_t other, int64_t threshold) {
  const int64_t d = value > other ? value - other : other - value;
  return IsSmall(d, threshold);
}

}  // namespace

std::string CountText(const ShownCount& count, const DisclosurePolicy& policy) {
  switch (count.state) {
    case CellState::kShown: return std::to_string(count.value);
    case CellState::kSmall: return "<" + std::to_string(policy.threshold);
    case CellState::kSuppressed: return "suppressed";
  }
  return "suppressed";
}

ShownCohort RenderCohort(const query::CohortResult& result, const DisclosurePolicy& policy,
                         std::span<const int64_t> released) {
  const int64_t t = policy.threshold;
  ShownCohort shown;
  shown.attrition.resize(result.attrition.size());
  // From the count up: the rows below a row are decided before it, so each shown row is
  // checked against every shown row and every count released before.
  std::vector<int64_t> exact(released.begin(), released.end());
  for (size_t k = result.attrition.size(); k-- > 0;) {
    const int64_t value = result.attrition[k].patients;
    ShownRow& row = shown.attrition[k];
    row.name = result.attrition[k].name;
    row.patients.value = value;
    if (IsSmall(value, t)) {
      row.patients.state = CellState::kSmall;
    } else if (std::any_of(exact.begin(), exact.end(),
                           [&](int64_t other) { return SmallApart(value, other, t); })) {
      row.patients.state = CellState::kSuppressed;
    } else {
      row.patients.state = CellState::kShown;
      exact.push_back(value);
    }
  }
  if (!shown.attrition.empty()) {
    shown.count = shown.attrition.back().patients;
  } else {
    shown.count = {IsSmall(result.count, t) ? CellState::kSmall : CellState::kShown, result.count};
  }
  return shown;
}

std::string ShownCohortToJson(const ShownCohort& shown, const DisclosurePolicy& policy,
                              std::string_view title, double milliseconds) {
  auto count = [&](const ShownCount& c) -> nlohmann::ordered_json {
    if (c.state == CellState::kShown) return c.value;
    return CountText(c, policy);
  };
  nlohmann::ordered_json j;
  if (!title.empty()) j["title"] = std::string(title);
  j["count"] = count(shown.count);
  j["attrition"] = nlohmann::ordered_json::array();
  for (const ShownRow& row : shown.attrition) {
    j["attrition"].push_back({{"name", row.name}, {"patients", count(row.patients)}});
  }
  j["min_cell"] = policy.threshold;
  j["milliseconds"] = std::round(milliseconds * 100) / 100;
  return j.dump();
}

namespace {

// What a reader of a released table knows: the shown cells, every sum, and of each hidden
// cell an interval: a small one is in [1, t - 1], a suppressed one at least t (suppression
// never hides a zero). A hidden cell is recovered when these leave it one possible value.
// Checking that is a linear programme per hidden cell (its least and greatest value), solved
// below over the reals: a range narrower than 1 holds one integer only. Intervals alone
// (11 = 1 (small) + 10 (suppressed)) and sums alone (a + c = 6 from one sum, then
// b = 11 - (a + c) from another) can each pin a cell; the programme sees both.
constexpr int64_t kUnbounded = int64_t{1} << 50;

int64_t SaturatedAdd(int64_t a, int64_t b) { return std::min(a + b, kUnbounded); }

bool Hidden(CellState s) { return s != CellState::kShown; }

// A dense simplex tableau for: A y = b, y >= 0, in two phases. Entering columns by the most
// negative reduced cost, or by Bland's rule (which cannot cycle) after a degenerate pivot; a
// programme that still runs past kPivotsMax pivots is reported as not solved, and the caller
// then assumes the worst. Small programmes only: a table's hidden cells (SuppressTable
// bounds the table).
class Simplex {
 public:
  struct Outcome {
    bool solved = false;     // false: gave up (pivot budget)
    bool unbounded = false;  // the objective grows without end
    double value = 0;
    std::vector<double> y;  // a feasible point: the optimum, or where unboundedness showed
  };

  // rows: coefficients of the n variables, then the right-hand side.
  Simplex(std::vector<std::vector<double>> rows, size_t n) : n_(n) {
    const size_t m = rows.size();
    width_ = n + m + 1;  // variables, one artificial per row, right-hand side
    t_.assign(m, std::vector<double>(width_, 0));
    basis_.resize(m);
    for (size_t r = 0; r < m; ++r) {
      const double sign = rows[r][n] < 0 ? -1 : 1;
      for (size_t j = 0; j < n; ++j) t_[r][j] = sign * rows[r][j];
      t_[r][n + r] = 1;
      t_[r][width_ - 1] = sign * rows[r][n];
      basis_[r] = n + r;
    }
  }

  // Phase 1: a basic feasible solution without artificials, which are then dropped. False if
  // there is none (or the pivot budget ran out).
  bool FindFeasible() {
    std::vector<double> cost(width_ - 1, 0);
    for (size_t r = 0; r < t_.size(); ++r) cost[n_ + r] = -1;  // maximise -(artificials)
    Outcome phase1 = Maximise(cost, width_ - 1);
    if (!phase1.solved || phase1.value < -1e-6) return false;
    // Artificials left in the basis at zero: pivot them out, or drop their (redundant) rows.
    for (size_t r = 0; r < t_.size();) {
      if (basis_[r] < n_) {
        ++r;
        continue;
      }
      size_t j = 0;
      while (j < n_ && std::abs(t_[r][j]) < kEps) ++j;
      if (j < n_) {
        Pivot(r, j);
        ++r;
      } else {
        t_.erase(t_.begin() + static_cast<ptrdiff_t>(r));
        basis_.erase(basis_.begin() + static_cast<ptrdiff_t>(r));
      }
    }
    for (std::vector<double>& row : t_) {
      row[n_] = row[width_ - 1];
      row.resize(n_ + 1);
    }
    width_ = n_ + 1;
    return true;
  }

  // Phase 2 from a copy of the feasible basis: maximises cost . y.
  Outcome Solve(const std::vector<double>& cost) const {
    Simplex copy = *this;
    return copy.Maximise(cost, n_);
  }

 private:
  static constexpr double kEps = 1e-9;
  static constexpr size_t kPivotsMax = 100'000;

  Outcome Maximise(const std::vector<double>& cost, size_t columns) {
    Outcome out;
    bool degenerate = false;
    for (size_t pivots = 0;; ++pivots) {
      if (pivots == kPivotsMax) return out;  // not solved
      size_t enter = SIZE_MAX;
      double most = -kEps;
      for (size_t j = 0; j < columns; ++j) {
        double reduced = -cost[j];
        for (size_t r = 0; r < t_.size(); ++r) reduced += cost[basis_[r]] * t_[r][j];
        if (reduced < most) {
          enter = j, most = reduced;
          if (degenerate) break;  // Bland: the first improving column
        }
      }
      if (enter == SIZE_MAX) break;
      size_t leave = SIZE_MAX;
      double best = 0;
      for (size_t r = 0; r < t_.size(); ++r) {
        if (t_[r][enter] <= kEps) continue;
        const double ratio = t_[r][width_ - 1] / t_[r][enter];
        if (leave == SIZE_MAX || ratio < best - kEps ||
            (ratio < best + kEps && basis_[r] < basis_[leave])) {
          leave = r, best = ratio;
        }
      }
      if (leave == SIZE_MAX) {
        out.unbounded = true;
        out.value = std::numeric_limits<double>::infinity();
        break;
      }
      degenerate = best < kEps;
      Pivot(leave, enter);
    }
    out.solved = true;
    out.y.assign(n_, 0);
    double value = 0;
    for (size_t r = 0; r < t_.size(); ++r) {
      if (basis_[r] < n_) out.y[basis_[r]] = t_[r][width_ - 1];
      value += cost[basis_[r]] * t_[r][width_ - 1];
    }
    if (!out.unbounded) out.value = value;
    return out;
  }

  void Pivot(size_t row, size_t col) {
    std::vector<double>& p = t_[row];
    const double d = p[col];
    for (double& v : p) v /= d;
    for (size_t r = 0; r < t_.size(); ++r) {
      if (r == row || std::abs(t_[r][col]) < kEps) continue;
      const double f = t_[r][col];
      for (size_t j = 0; j < width_; ++j) t_[r][j] -= f * p[j];
    }
    basis_[row] = col;
  }

  size_t n_ = 0, width_ = 0;
  std::vector<std::vector<double>> t_;
  std::vector<size_t> basis_;
};

// The first hidden cell a reader can recover, if any (SIZE_MAX: none). With threshold 2 a
// small cell is 1 by the rule itself: not counted.
size_t FirstRecoverable(const CountTable& table, const std::vector<CellState>& state, int64_t t) {
  const size_t n = table.cells.size();
  std::vector<size_t> var(n, SIZE_MAX), cells;
  std::vector<double> lo, hi;
  for (size_t i = 0; i < n; ++i) {
    if (!Hidden(state[i])) continue;
    var[i] = cells.size();
    cells.push_back(i);
    const bool small = state[i] == CellState::kSmall;
    lo.push_back(static_cast<double>(small ? 1 : t));
    hi.push_back(small ? static_cast<double>(t - 1) : std::numeric_limits<double>::infinity());
  }
  if (cells.empty()) return SIZE_MAX;
  // Variables: y_j = x_j - lo_j for each hidden cell, then a slack per bounded cell.
  size_t bounded = 0;
  for (double h : hi) bounded += std::isinf(h) ? 0 : 1;
  const size_t vars = cells.size() + bounded;
  std::vector<std::vector<double>> rows;
  for (const TableSum& sum : table.sums) {
    std::vector<double> row(vars + 1, 0);
    bool any = false;
    double rhs = 0;  // sum of parts - total = 0, with the shown cells and lo moved right
    auto add = [&](size_t cell, double a) {
      if (var[cell] == SIZE_MAX) {
        rhs -= a * static_cast<double>(table.cells[cell]);
      } else {
        row[var[cell]] += a;
        rhs -= a * lo[var[cell]];
        any = true;
      }
    };
    for (size_t p : sum.parts) add(p, 1);
    add(sum.total, -1);
    if (!any) continue;
    row[vars] = rhs;
    rows.push_back(std::move(row));
  }
  for (size_t j = 0, slack = cells.size(); j < cells.size(); ++j) {
    if (std::isinf(hi[j])) continue;
    std::vector<double> row(vars + 1, 0);
    row[j] = 1;
    row[slack++] = 1;
    row[vars] = hi[j] - lo[j];
    rows.push_back(std::move(row));
  }
  Simplex simplex(std::move(rows), vars);
  if (!simplex.FindFeasible()) return cells.front();  // cannot be (the true counts fit)
  // A cell is free once some feasible point gives it another value than its own. Points
  // come cheaply from a few objectives in fixed pseudo-random directions (most cells move
  // in one of them), then from each remaining cell's own least and greatest value.
  std::vector<bool> free(cells.size(), false);
  for (size_t j = 0; j < cells.size(); ++j) free[j] = hi[j] - lo[j] < 1;  // threshold 2
  auto note = [&](const Simplex::Outcome& o) {
    if (!o.solved) return;
    for (size_t j = 0; j < cells.size(); ++j) {
      const double x = lo[j] + o.y[j];
      if (std::abs(x - static_cast<double>(table.cells[cells[j]])) > 1 - 1e-6) free[j] = true;
    }
  };
  uint64_t direction = 0x9e3779b97f4a7c15ULL;
  for (int k = 0; k < 6; ++k) {
    std::vector<double> cost(vars, 0);
    for (size_t j = 0; j < cells.size(); ++j) {
      direction ^= direction << 13, direction ^= direction >> 7, direction ^= direction << 17;
      cost[j] = (direction & 1) ? 1 : -1;
    }
    note(simplex.Solve(cost));
  }
  for (size_t j = 0; j < cells.size(); ++j) {
    for (double sign : {1.0, -1.0}) {
      if (free[j]) break;
      std::vector<double> cost(vars, 0);
      cost[j] = sign;
      const Simplex::Outcome o = simplex.Solve(cost);
      if (o.unbounded) free[j] = true;
      note(o);
    }
    if (!free[j]) return cells[j];
  }
  return SIZE_MAX;
}

// The shown cell of `sum` to hide next: the smallest non-zero part, else the total if it is
// not zero; with `above` set, only cells greater than it. None: SIZE_MAX.
size_t Complement(const TableSum& sum, const CountTable& table, const std::vector<CellState>& state,
                  int64_t above) {
  auto excluded = [&](size_t c) {
    return c < table.no_complement.size() && table.no_complement[c];
  };
  size_t best = SIZE_MAX;
  for (size_t p : sum.parts) {
    if (Hidden(state[p]) || table.cells[p] <= above || excluded(p)) continue;
    if (best == SIZE_MAX || table.cells[p] < table.cells[best]) best = p;
  }
  if (best == SIZE_MAX && !Hidden(state[sum.total]) && table.cells[sum.total] > above &&
      !excluded(sum.total)) {
    best = sum.total;
  }
  return best;
}

bool HasHidden(const TableSum& sum, const std::vector<CellState>& state) {
  if (Hidden(state[sum.total])) return true;
  return std::any_of(sum.parts.begin(), sum.parts.end(),
                     [&](size_t p) { return Hidden(state[p]); });
}

// Hides complements until every sum has 0 or at least 2 hidden cells.
void CompleteSums(const CountTable& table, std::vector<CellState>& state) {
  for (bool changed = true; changed;) {
    changed = false;
    for (const TableSum& sum : table.sums) {
      size_t hidden = Hidden(state[sum.total]) ? 1 : 0;
      for (size_t p : sum.parts) hidden += Hidden(state[p]) ? 1 : 0;
      if (hidden != 1) continue;
      const size_t c = Complement(sum, table, state, 0);
      if (c == SIZE_MAX) continue;  // the hidden cell would be 0: never the case (see above)
      state[c] = CellState::kSuppressed;
      changed = true;
    }
  }
}

Status CheckTable(const CountTable& table) {
  const size_t n = table.cells.size();
  if (n > kTableCellsMax) {
    return Status::InvalidArgument("table: more than " + std::to_string(kTableCellsMax) + " cells");
  }
  for (size_t i = 0; i < n; ++i) {
    if (table.cells[i] < 0) {
      return Status::InvalidArgument("table: cell " + std::to_string(i) + " is negative");
    }
  }
  for (size_t s = 0; s < table.sums.size(); ++s) {
    const TableSum& sum = table.sums[s];
    const std::string where = "table: sum " + std::to_string(s);
    if (sum.total >= n) return Status::InvalidArgument(where + ": total out of range");
    int64_t parts = 0;
    for (size_t p : sum.parts) {
      if (p >= n) return Status::InvalidArgument(where + ": part out of range");
      if (p == sum.total) return Status::InvalidArgument(where + ": total among its parts");
      parts = SaturatedAdd(parts, table.cells[p]);
    }
    if (parts != table.cells[sum.total]) {
      return Status::InvalidArgument(where + ": the parts do not add up to the total");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<CellState>> SuppressTable(const CountTable& table,
                                             const DisclosurePolicy& policy, size_t hidden_max) {
  P4DP_TRY(CheckTable(table));
  const int64_t t = policy.threshold;
  const size_t n = table.cells.size();
  std::vector<CellState> state(n, CellState::kShown);
  for (size_t i = 0; i < n; ++i) {
    if (IsSmall(table.cells[i], t)) state[i] = CellState::kSmall;
  }
  // Which sums each cell is in, for the second stage.
  std::vector<std::vector<size_t>> sums_of(n);
  for (size_t s = 0; s < table.sums.size(); ++s) {
    sums_of[table.sums[s].total].push_back(s);
    for (size_t p : table.sums[s].parts) sums_of[p].push_back(s);
  }
  // Every sum with 0 or 2+ hidden cells is not enough: what a reader knows can still pin a
  // hidden cell (FirstRecoverable). While some cell is pinned, hide one more cell (the
  // smallest that may help); when none is left to hide, withhold the table.
  auto too_many = [&] {
    return hidden_max != SIZE_MAX &&
           static_cast<size_t>(std::count_if(state.begin(), state.end(), Hidden)) > hidden_max;
  };
  if (too_many()) {
    return Status::ResourceExhausted("table: more than " + std::to_string(hidden_max) +
                                     " hidden cells");
  }
  for (;;) {
    CompleteSums(table, state);
    if (hidden_max != SIZE_MAX &&
        static_cast<size_t>(std::count_if(state.begin(), state.end(), Hidden)) > hidden_max) {
      return Status::ResourceExhausted("table: more than " + std::to_string(hidden_max) +
                                       " hidden cells");
    }
    const size_t pinned = FirstRecoverable(table, state, t);
    if (pinned == SIZE_MAX) break;
    // Where to hide one more: a sum of the pinned cell, else any sum with a hidden cell; in
    // each, first a cell above t (its slack frees the others), then any non-zero one.
    size_t pick = SIZE_MAX;
    for (int tier = 0; tier < 4 && pick == SIZE_MAX; ++tier) {
      const int64_t above = tier % 2 == 0 ? t : 0;
      for (size_t s = 0; s < table.sums.size(); ++s) {
        const TableSum& sum = table.sums[s];
        if (tier < 2 ? std::find(sums_of[pinned].begin(), sums_of[pinned].end(), s) ==
                           sums_of[pinned].end()
                     : !HasHidden(sum, state)) {
          continue;
        }
        const size_t c = Complement(sum, table, state, above);
        if (c != SIZE_MAX && (pick == SIZE_MAX || table.cells[c] < table.cells[pick])) pick = c;
      }
    }
    if (pick == SIZE_MAX) {
      // Nothing left that could help (the small cells and zeros pin one another): the whole
      // table is withheld, zeros and small cells included, so that it tells nothing.
      state.assign(n, CellState::kSuppressed);
      break;
    }
    state[pick] = CellState::kSuppressed;
  }
  return state;
}

Result<GridStates> SuppressGrid(std::span<const int64_t> grid, size_t rows, size_t cols,
                                const DisclosurePolicy& policy) {
  if (rows == 0 || cols == 0 || grid.size() / rows != cols || grid.size() % rows != 0) {
    return Status::InvalidArgument("grid: " + std::to_string(grid.size()) + " counts for " +
                                   std::to_string(rows) + " x " + std::to_string(cols));
  }
  if (grid.size() + rows + cols + 1 > kTableCellsMax) {
    return Status::InvalidArgument("grid: more than " + std::to_string(kTableCellsMax) + " cells");
  }
  CountTable table;
  table.cells.assign(grid.begin(), grid.end());
  const size_t row_total = grid.size(), col_total = row_total + rows, total = col_total + cols;
  table.cells.resize(total + 1, 0);
  for (size_t r = 0; r < rows; ++r) {
    TableSum sum{row_total + r, {}};
    for (size_t c = 0; c < cols; ++c) {
      sum.parts.push_back(r * cols + c);
      table.cells[row_total + r] += grid[r * cols + c];
      table.cells[col_total + c] += grid[r * cols + c];
    }
    table.sums.push_back(std::move(sum));
  }
  for (size_t c = 0; c < cols; ++c) {
    TableSum sum{col_total + c, {}};
    for (size_t r = 0; r < rows; ++r) sum.parts.push_back(r * cols + c);
    table.sums.push_back(std::move(sum));
  }
  TableSum all{total, {}};
  for (size_t r = 0; r < rows; ++r) {
    all.parts.push_back(row_total + r);
    table.cells[total] += table.cells[row_total + r];
  }
  table.sums.push_back(std::move(all));
  TableSum all_by_col{total, {}};
  for (size_t c = 0; c < cols; ++c) all_by_col.parts.push_back(col_total + c);
  table.sums.push_back(std::move(all_by_col));
  std::vector<CellState> state = P4DP_TRY(SuppressTable(table, policy));
  GridStates out;
  out.cells.assign(state.begin(), state.begin() + static_cast<ptrdiff_t>(row_total));
  out.row_totals.assign(state.begin() + static_cast<ptrdiff_t>(row_total),
                        state.begin() + static_cast<ptrdiff_t>(col_total));
  out.col_totals.assign(state.begin() + static_cast<ptrdiff_t>(col_total),
                        state.begin() + static_cast<ptrdiff_t>(total));
  out.total = state[total];
  return out;
}

namespace {

// FNV-1a: stable across runs and builds (the guard compares fingerprints of one process, but
// a stable hash keeps tests and audit entries reproducible).
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

void Add(std::string& out, std::string_view tag, const std::optional<int64_t>& v) {
  out += tag;
  out += v ? std::to_string(*v) : "-";
  out += ';';
}

void Add(std::string& out, std::string_view tag, const std::optional<double>& v) {
  out += tag;
  if (v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *v);
    out += buf;
  } else {
    out += '-';
  }
  out += ';';
}

// A code set by its content: the same codes under another name are the same set.
std::string CodeSetText(const query::Cohort& cohort, const std::string& name) {
  if (name.empty()) return "*";
  auto it = cohort.codesets.find(name);
  if (it == cohort.codesets.end()) return "?" + name;
  std::vector<std::string> refs;
  for (const query::CodeRef& r : it->second) {
    refs.push_back(r.system + "|" + r.code + "|" + (r.descendants ? "d" : "") +
                   (r.exclude ? "x" : ""));
  }
  std::sort(refs.begin(), refs.end());
  std::string out = "{";
  for (const std::string& r : refs) out += r + ",";
  return out + "}";
}

std::string DomainText(const std::optional<domain::Domain>& d) {
  return d ? std::string(domain::DomainName(*d)) : "*";
}

std::string CriterionText(const query::Criterion& c, const query::Cohort& cohort) {
  using Kind = query::Criterion::Kind;
  std::string out;
  switch (c.kind) {
    case Kind::kEvents: {
      const query::EventsCriterion& e = c.events;
      out = "E(" + DomainText(e.domain) + ";" + CodeSetText(cohort, e.codeset) + ";";
      Add(out, "ws", e.window_start ? std::optional<int64_t>(*e.window_start) : std::nullopt);
      Add(out, "we", e.window_end ? std::optional<int64_t>(*e.window_end) : std::nullopt);
      Add(out, "gt", e.value.gt);
      Add(out, "ge", e.value.gte);
      Add(out, "lt", e.value.lt);
      Add(out, "le", e.value.lte);
      Add(out, "n", std::optional<int64_t>(e.at_least));
      Add(out, "m", e.at_most);
      return out + ")";
    }
    case Kind::kAge:
      out = "A(";
      Add(out, "", c.age_min ? std::optional<int64_t>(*c.age_min) : std::nullopt);
      Add(out, "", c.age_max ? std::optional<int64_t>(*c.age_max) : std::nullopt);
      return out + ")";
    case Kind::kSex: return "S(" + std::to_string(static_cast<int>(c.sex)) + ")";
    case Kind::kDepartement: {
      std::vector<std::string> d = c.departements;
      std::sort(d.begin(), d.end());
      out = "D(";
      for (const std::string& x : d) out += x + ",";
      return out + ")";
    }
    case Kind::kAll:
    case Kind::kAny: {
      std::vector<std::string> children;
      for (const query::Criterion& child : c.children) {
        children.push_back(CriterionText(child, cohort));
      }
      std::sort(children.begin(), children.end());
      out = c.kind == Kind::kAll ? "&(" : "|(";
      for (const std::string& x : children) out += x + ",";
      return out + ")";
    }
    case Kind::kNot: return "!(" + CriterionText(c.children.front(), cohort) + ")";
  }
  return out;
}

}  // namespace

QueryFingerprint FingerprintOf(const query::Cohort& cohort) {
  QueryFingerprint fp;
  const query::Entry& e = cohort.entry;
  std::string entry = "entry(" + DomainText(e.domain) + ";" + CodeSetText(cohort, e.codeset) + ";" +
                      (e.first ? "first" : "all") + ";";
  Add(entry, "from", e.from ? std::optional<int64_t>(*e.from) : std::nullopt);
  Add(entry, "to", e.to ? std::optional<int64_t>(*e.to) : std::nullopt);
  Add(entry, "prior", std::optional<int64_t>(e.prior_observation_days));
  fp.entry = Fnv1a(entry + ")");
  for (const query::Rule& rule : cohort.inclusion) {
    fp.rules.push_back(Fnv1a(CriterionText(rule.criterion, cohort)));
  }
  std::sort(fp.rules.begin(), fp.rules.end());
  return fp;
}

size_t Distance(const QueryFingerprint& a, const QueryFingerprint& b) {
  // Rules only in a, only in b (multisets, both sorted): a changed rule is one of each.
  size_t only_a = 0, only_b = 0;
  size_t i = 0, j = 0;
  while (i < a.rules.size() || j < b.rules.size()) {
    if (j == b.rules.size() || (i < a.rules.size() && a.rules[i] < b.rules[j])) {
      ++only_a, ++i;
    } else if (i == a.rules.size() || b.rules[j] < a.rules[i]) {
      ++only_b, ++j;
    } else {
      ++i, ++j;
    }
  }
  return (a.entry != b.entry ? 1 : 0) + std::max(only_a, only_b);
}

QueryGuard::QueryGuard(const Clock& clock, QueryGuardOptions options)
    : clock_(clock), options_(options) {}

QueryGuard::Pair& QueryGuard::PairOf(std::string_view user, std::string_view project, int64_t now) {
  auto key = std::make_pair(std::string(user), std::string(project));
  auto it = pairs_.find(key);
  if (it == pairs_.end()) {
    if (pairs_.size() >= options_.pairs_max) {
      // Forget the pair used least recently (its window has most likely passed).
      auto oldest = std::min_element(
          pairs_.begin(), pairs_.end(),
          [](const auto& x, const auto& y) { return x.second.last_use < y.second.last_use; });
      pairs_.erase(oldest);
    }
    it = pairs_.emplace(std::move(key), Pair{}).first;
  }
  it->second.last_use = ++uses_;
  Expire(it->second, now);
  return it->second;
}

void QueryGuard::Expire(Pair& pair, int64_t now) const {
  const int64_t start = now - options_.window_seconds * 1'000'000;
  while (!pair.queries.empty() && pair.queries.front().first <= start) pair.queries.pop_front();
  while (!pair.released.empty() && pair.released.front().first <= start) {
    pair.released.pop_front();
  }
}

Status QueryGuard::Admit(std::string_view user, std::string_view project,
                         const QueryFingerprint& query) {
  const int64_t now = clock_.MonotonicMicros();
  std::lock_guard lock(mu_);
  Pair& pair = PairOf(user, project, now);
  const std::string window = std::to_string(options_.window_seconds) + " s";
  if (static_cast<int64_t>(pair.queries.size()) >= options_.queries_max) {
    return Status::ResourceExhausted("rate limit: " + std::to_string(options_.queries_max) +
                                     " queries in this project within " + window +
                                     "; try again later");
  }
  int64_t near = 0;
  for (const auto& [time, q] : pair.queries) near += Distance(q, query) == 1 ? 1 : 0;
  if (near >= options_.near_identical_max) {
    return Status::ResourceExhausted("differencing guard: " + std::to_string(near) +
                                     " queries differing from this one by one criterion within " +
                                     window + "; try again later");
  }
  pair.queries.emplace_back(now, query);
  return Status::Ok();
}

std::vector<int64_t> QueryGuard::Released(std::string_view user, std::string_view project) {
  const int64_t now = clock_.MonotonicMicros();
  std::lock_guard lock(mu_);
  Pair& pair = PairOf(user, project, now);
  std::vector<int64_t> out;
  out.reserve(pair.released.size());
  for (const auto& [time, count] : pair.released) out.push_back(count);
  return out;
}

void QueryGuard::NoteReleased(std::string_view user, std::string_view project,
                              const ShownCohort& shown) {
  const int64_t now = clock_.MonotonicMicros();
  std::lock_guard lock(mu_);
  Pair& pair = PairOf(user, project, now);
  for (const ShownRow& row : shown.attrition) {
    if (row.patients.state != CellState::kShown) continue;
    // A count released again is kept once, from now (asking the same query again must not
    // push other counts out of the memory).
    std::erase_if(pair.released, [&](const auto& r) { return r.second == row.patients.value; });
    if (pair.released.size() >= options_.released_max) pair.released.pop_front();
    pair.released.emplace_back(now, row.patients.value);
  }
}

}  // namespace p4dp::access
