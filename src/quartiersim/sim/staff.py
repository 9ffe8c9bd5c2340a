"""Staff as a stock: positions that persist, fill with a lag and lose experience.

Every paid post in the quarter's provision is a row of :class:`StaffStock`: a carrier's
own-funded staff in a domain, a carrier's staff funded by the cooperation model, the
municipality's staff at an office, a coordinator, the quarter manager, the centre
management, the volunteer agency. A row has

- a **target** (FTE the money behind the post pays for; set by the cooperation model's
  yearly plan, or by the carrier for its own-funded staff),
- the **employed** FTE (``fte``), which follows the target with a lag: vacancies fill
  with the monthly probability ``1 - exp(-1 / staffing.vacancy_months)`` (a vacancy
  lasts ``vacancy_months`` on average); when the target falls, a carrier gives notice
  and the staff leave after ``staffing.notice_months`` (paid by the carrier meanwhile),
  while the municipality's staff leave the quarter's posts at once (they are redeployed
  in the administration, at no cost to the quarter);
- the **experience** of the employed staff (0 new, 1 full), from which their
  productivity follows: ``new_hire_productivity + (1 - new_hire_productivity) x
  experience``. Experience grows towards 1 with time constant
  ``staffing.ramp_up_months``; new hires arrive with 0 and dilute the mean. A post that
  ends loses its experience: what is rebuilt starts from new hires.

Positions persist from year to year: the yearly plan sets targets again
(:meth:`StaffStock.begin_plan` clears the funded targets, the plan sets them), and only
the difference is hired or let go. Shapes: ``k`` = number of posts; all arrays (k,).
Units: FTE; hours by ``municipality.hours_per_fte_per_month``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from quartiersim.config.behaviour import Staffing

#: Employer index of the municipality (carriers are 0, 1, ... in scenario order).
MUNICIPALITY = -1
#: Domain index of a post that serves no single domain (coordination, management).
NO_DOMAIN = -1


class Role(IntEnum):
    """What a post does."""

    SERVICE = 0  #: serves residents' needs in one domain
    COORDINATION = 1  #: coordinates volunteers at its point
    MANAGEMENT = 2  #: quarter manager, centre management, volunteer agency


class PostKey(NamedTuple):
    """Identity of a post: who employs it, what it does, in which domain, and whether
    the cooperation model funds it (``funded``) or the carrier's own money does."""

    employer: int
    role: Role
    domain: int
    funded: bool


@dataclass
class StaffStock:
    """The quarter's posts (module docstring). Rows are added when a post is first
    planned and never removed (a post with target 0 and no staff costs nothing)."""

    params: Staffing
    keys: list[PostKey]
    index: dict[PostKey, int]
    employer: np.ndarray  # PostKey.employer of each post
    role: np.ndarray  # PostKey.role
    domain: np.ndarray  # PostKey.domain
    funded: np.ndarray  # PostKey.funded (bool)
    point: np.ndarray  # service point index of each post (-1 none)
    target: np.ndarray
    fte: np.ndarray
    experience: np.ndarray
    leaving: np.ndarray  # (k, notice months): FTE leaving at the end of month m + 1
    # rows() by query: a post's employer, role, domain and funding never change, and rows
    # are only added (post()), which clears it
    _rows: dict[tuple, np.ndarray] = field(default_factory=dict, init=False, repr=False,
                                           compare=False)

    @classmethod
    def empty(cls, params: Staffing) -> StaffStock:
        months = max(int(params.notice_months), 1)
        ints = [np.zeros(0, np.int64) for _ in range(4)]
        return cls(params, [], {}, *ints[:3], np.zeros(0, bool), ints[3], np.zeros(0),
                   np.zeros(0), np.zeros(0), np.zeros((0, months)))

    def __len__(self) -> int:
        return len(self.keys)

    # ------------------------------------------------------------------ planning
    def post(self, key: PostKey, point: int) -> int:
        """Index of the post ``key`` (created vacant if new); its point is set to
        ``point`` (a carrier that moves takes its posts along)."""
        i = self.index.get(key)
        if i is None:
            i = len(self.keys)
            self.keys.append(key)
            self.index[key] = i
            self.employer = np.append(self.employer, key.employer)
            self.role = np.append(self.role, int(key.role))
            self.domain = np.append(self.domain, key.domain)
            self.funded = np.append(self.funded, bool(key.funded))
            self.point = np.append(self.point, point)
            self.target = np.append(self.target, 0.0)
            self.fte = np.append(self.fte, 0.0)
            self.experience = np.append(self.experience, 0.0)
            self.leaving = np.vstack([self.leaving, np.zeros((1, self.leaving.shape[1]))])
            self._rows.clear()
        else:
            self.point[i] = point
        return i

    def set_target(self, key: PostKey, point: int, fte: float) -> int:
        """Set the target FTE of post ``key`` at ``point``; returns its index."""
        i = self.post(key, point)
        self.target[i] = max(float(fte), 0.0)
        return i

    def add_target(self, key: PostKey, point: int, fte: float) -> int:
        """Add ``fte`` to the target of post ``key``; returns its index."""
        i = self.post(key, point)
        self.target[i] += max(float(fte), 0.0)
        return i

    def begin_plan(self) -> None:
        """Clear the targets of every funded post before a plan sets them anew (a post
        the plan does not fund again ends)."""
        self.target[self.funded] = 0.0

    def establish(self) -> None:
        """Fill every post to its target with full experience: the posts in place when
        the model starts are an established structure (ODD 5)."""
        self.fte[:] = self.target
        self.experience[:] = np.where(self.target > 0, 1.0, 0.0)
        self.leaving[:] = 0.0

    def end_employer(self, employer: int) -> None:
        """All posts of ``employer`` end at once, without notice (a carrier closes)."""
        rows = self.rows(employer=employer)
        self.target[rows] = self.fte[rows] = self.experience[rows] = 0.0
        self.leaving[rows] = 0.0

    # ------------------------------------------------------------------ the month
    def month(self) -> tuple[float, float]:
        """One month: notices run out, vacancies fill, new notices are given,
        experience grows. Returns (FTE hired, FTE that left) this month."""
        p = self.params
        if len(self) == 0:
            return 0.0, 0.0
        left = self.leaving[:, 0].copy()
        self.fte -= left
        self.leaving[:, :-1] = self.leaving[:, 1:]
        self.leaving[:, -1] = 0.0
        municipal = self.employer == MUNICIPALITY
        notices = bool(self.leaving.any())  # mostly none: then all staff stay
        staying = self.fte - self.leaving.sum(axis=1) if notices else self.fte
        # the target rose above the staff who stay: withdraw notices first (latest first)
        short = np.maximum(self.target - staying, 0.0)
        for m in range(self.leaving.shape[1] - 1, -1, -1) if notices else ():
            back = np.minimum(short, self.leaving[:, m])
            self.leaving[:, m] -= back
            short -= back
        # vacancies fill with the monthly probability
        fill = 1.0 - np.exp(-1.0 / p.vacancy_months) if p.vacancy_months > 0 else 1.0
        hired = short * fill
        grown = self.fte + hired
        self.experience = np.where(grown > 0, self.fte * self.experience / np.maximum(grown, 1e-12), 0.0)
        self.fte = grown
        # the target fell below the staff who stay: the municipality redeploys at once,
        # a carrier gives notice (they leave when it runs out)
        staying = self.fte - self.leaving.sum(axis=1) if notices else self.fte
        excess = np.maximum(staying - self.target, 0.0)
        gone = np.where(municipal | (p.notice_months <= 0), excess, 0.0)
        self.fte -= gone
        self.leaving[:, -1] += np.where(gone > 0, 0.0, excess)
        left += gone
        self.fte = np.maximum(self.fte, 0.0)
        # experience grows towards 1
        if p.ramp_up_months > 0:
            self.experience = 1.0 - (1.0 - self.experience) * np.exp(-1.0 / p.ramp_up_months)
        else:
            self.experience[:] = 1.0
        self.experience[self.fte <= 0] = 0.0
        return float(hired.sum()), float(left.sum())

    # ------------------------------------------------------------------ queries
    def rows(self, *, employer: int | None = None, role: Role | None = None,
             funded: bool | None = None, domain: int | None = None) -> np.ndarray:
        """Indices of the posts that match every given attribute (read-only; the same
        array until a post is added)."""
        query = (employer, role, funded, domain)
        rows = self._rows.get(query)
        if rows is None:
            mask = np.ones(len(self), bool)
            for arr, value in ((self.employer, employer), (self.role, role),
                               (self.funded, funded), (self.domain, domain)):
                if value is not None:
                    mask &= arr == value
            rows = np.flatnonzero(mask)
            rows.flags.writeable = False
            self._rows[query] = rows
        return rows

    def productivity(self) -> np.ndarray:
        """Productivity of each post's staff, (k,), between new_hire_productivity and 1."""
        p0 = self.params.new_hire_productivity
        return p0 + (1.0 - p0) * self.experience

    def effective_fte(self) -> np.ndarray:
        """Employed FTE x productivity, (k,)."""
        return self.fte * self.productivity()

    def paid_share(self, i: int) -> float:
        """Share of post ``i``'s target its funder pays this month: employed FTE up to
        the target (staff serving notice beyond it are the employer's), 0 without target."""
        t = self.target[i]
        return float(min(self.fte[i], t) / t) if t > 0 else 0.0

    def paid_shares(self) -> list[float]:
        """:meth:`paid_share` of every post, in post order."""
        share = np.zeros(len(self))
        np.divide(np.minimum(self.fte, self.target), self.target, out=share, where=self.target > 0)
        return share.tolist()

    def notice_fte(self, i: int) -> float:
        """FTE of post ``i`` employed beyond its target (serving notice)."""
        return float(max(self.fte[i] - self.target[i], 0.0))

    def fte_of(self, key: PostKey) -> float:
        i = self.index.get(key)
        return float(self.fte[i]) if i is not None else 0.0

    def target_of(self, key: PostKey) -> float:
        i = self.index.get(key)
        return float(self.target[i]) if i is not None else 0.0

    def effective_of(self, key: PostKey) -> float:
        i = self.index.get(key)
        return float(self.effective_fte()[i]) if i is not None else 0.0
