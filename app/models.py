"""The tables, and nothing else."""

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.domain.step_options import Alert, Raises, RequiredIf, RiskFactor, Variants
from app.domain.vocab import (
    Attendance,
    Discipline,
    EpisodeStatus,
    Instrument,
    ItemStatus,
    Phase,
    Procedure,
    Role,
    Sex,
    StepKind,
    TimePoint,
    ValueType,
    VersionStatus,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp, also on SQLite (which drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def str_enum(enum_cls: type[StrEnum], length: int = 20) -> SAEnum:
    """Store a StrEnum as its value, checked by the database."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=True,
        name=enum_cls.__name__.lower(),
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Wrong passwords given when signing, counted apart from logins.
    signature_failures: Mapped[int] = mapped_column(Integer, default=0)
    signature_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set for a temporary password (new account, reset): the user must choose their own.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Second factor (TOTP, RFC 6238): the shared secret (base32) once enrolment is confirmed,
    # when it was confirmed, and the last time step accepted (a code is accepted once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Granted by an admin to a surgeon: edits, publishes and retires protocol versions.
    edits_protocols: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __mapper_args__ = {"version_id_col": version}

    # Flask-Login protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class UserSession(Base):
    """A server-side login session; the browser holds only its random id."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession user={self.user_id}>"


class RecoveryCode(Base):
    """A one-time recovery code for the second factor, stored hashed (SHA-256 of 80 random bits)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<RecoveryCode user={self.user_id}>"


class FormSubmission(Base):
    """A one-time form token that was used, with the answer given, so that a repeat of the very
    same submission is answered as before and changes nothing."""

    __tablename__ = "form_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # SHA-256 of the path and the submitted fields (secrets left out).
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    location: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(20))

    def __repr__(self) -> str:
        return f"<FormSubmission {self.id}>"


class ProtocolTemplate(Base):
    __tablename__ = "protocol_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The procedure types the protocol is meant for: registering an episode of one proposes it.
    procedure_types: Mapped[list | None] = mapped_column(JSON)

    versions: Mapped[list["ProtocolVersion"]] = relationship(
        back_populates="template", order_by="ProtocolVersion.number"
    )

    def __repr__(self) -> str:
        return f"<ProtocolTemplate {self.slug}>"


class ProtocolVersion(Base):
    """A version of a protocol: a draft while a clinical lead edits it (no number yet), then
    published (numbered, never changed again: episodes are held to it), then retired."""

    __tablename__ = "protocol_version"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("protocol_template.id"), index=True)
    number: Mapped[int | None] = mapped_column(Integer)  # None while a draft
    content_sha256: Mapped[str] = mapped_column(String(64))  # "" while a draft
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus), default=VersionStatus.PUBLISHED, server_default=VersionStatus.PUBLISHED.value
    )
    # The version a draft started from (None: from blank or imported), kept once published.
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("protocol_version.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The e-signature of publication ("approved for clinical use") and the changes approved,
    # against based_on (app/domain/protocol_diff.py), kept with the version.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    changes: Mapped[dict | None] = mapped_column(JSON)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # A draft's edits are version-checked: two leads editing one draft never lose an update.
    lock_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    template: Mapped[ProtocolTemplate] = relationship(back_populates="versions")
    steps: Mapped[list["ProtocolStep"]] = relationship(
        back_populates="version", order_by="ProtocolStep.position"
    )
    based_on: Mapped["ProtocolVersion | None"] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    retired_by: Mapped[User | None] = relationship(foreign_keys=[retired_by_id])

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def is_draft(self) -> bool:
        return self.status is VersionStatus.DRAFT

    @property
    def label(self) -> str:
        if self.number is None:
            return f"{self.template.name} (draft)"
        return f"{self.template.name} (version {self.number})"

    def __repr__(self) -> str:
        return f"<ProtocolVersion {self.template_id} v{self.number}>"


class StepSpecs:
    """A step's options as the domain's types, read from its JSON columns: of a ProtocolStep, and
    of a step read as a row (app/queries/checklist_page.py)."""

    @property
    def alert_spec(self) -> Alert | None:
        return Alert.from_json(self.alert)

    @property
    def required_if_spec(self) -> RequiredIf | None:
        return RequiredIf.from_json(self.required_if)

    @property
    def raises_spec(self) -> Raises | None:
        return Raises.from_json(self.raises)

    @property
    def risk_spec(self) -> RiskFactor | None:
        return RiskFactor.from_json(self.risk)

    @property
    def variants_spec(self) -> Variants:
        return Variants.from_json(self.variants, self.only_for)


class ProtocolStep(StepSpecs, Base):
    __tablename__ = "protocol_step"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("protocol_version.id"), index=True)
    phase: Mapped[Phase] = mapped_column(str_enum(Phase))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    guidance: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[Role] = mapped_column(str_enum(Role))
    required: Mapped[bool] = mapped_column(Boolean)
    due_offset_days: Mapped[int] = mapped_column(Integer)
    kind: Mapped[StepKind] = mapped_column(str_enum(StepKind))
    value_type: Mapped[ValueType | None] = mapped_column(str_enum(ValueType))
    unit: Mapped[str | None] = mapped_column(String(40))
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    value_label: Mapped[str | None] = mapped_column(String(120))
    discipline: Mapped[Discipline | None] = mapped_column(str_enum(Discipline, 4))
    session_count: Mapped[int | None] = mapped_column(Integer)
    sessions_from_days: Mapped[int | None] = mapped_column(Integer)
    outcome_time_point: Mapped[TimePoint | None] = mapped_column(str_enum(TimePoint))
    # Protocol format 2 (clinical rules version 2); see app/domain/protocol_spec.py.
    sessions_until_days: Mapped[int | None] = mapped_column(Integer)
    window_from_days: Mapped[int | None] = mapped_column(Integer)
    window_until_days: Mapped[int | None] = mapped_column(Integer)
    grace_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    alert: Mapped[dict | None] = mapped_column(JSON)  # app.domain.step_options.Alert
    required_if: Mapped[dict | None] = mapped_column(JSON)  # ... RequiredIf
    variants: Mapped[dict | None] = mapped_column(JSON)  # procedure type -> Variant
    only_for: Mapped[list | None] = mapped_column(JSON)  # procedure types; None: every type
    raises: Mapped[dict | None] = mapped_column(JSON)  # ... Raises: the flag its value raises
    risk: Mapped[dict | None] = mapped_column(JSON)  # ... RiskFactor: the risk factor its answer shows

    version: Mapped[ProtocolVersion] = relationship(back_populates="steps")

    def __repr__(self) -> str:
        return f"<ProtocolStep {self.code}>"


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(20), unique=True)
    family_name: Mapped[str] = mapped_column(String(100), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(str_enum(Sex))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    episodes: Mapped[list["Episode"]] = relationship(back_populates="patient", order_by="Episode.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def display_name(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name}"

    def __repr__(self) -> str:
        return f"<Patient {self.id}>"


class Episode(Base):
    """One operation of a patient; the checklist belongs to it."""

    __tablename__ = "episode"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(200))
    # The kind of operation: protocol steps may differ by it (app/domain/pathway.py).
    procedure_type: Mapped[Procedure] = mapped_column(
        str_enum(Procedure), default=Procedure.OTHER, server_default=Procedure.OTHER.value
    )
    levels: Mapped[str] = mapped_column(String(60))
    surgeon_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    surgery_date: Mapped[date | None] = mapped_column(Date, index=True)
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_version.id"), index=True)
    status: Mapped[EpisodeStatus] = mapped_column(str_enum(EpisodeStatus))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    close_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    patient: Mapped[Patient] = relationship(back_populates="episodes")
    surgeon: Mapped[User] = relationship(foreign_keys=[surgeon_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    protocol_version: Mapped[ProtocolVersion] = relationship()
    signoffs: Mapped[list["Signoff"]] = relationship(back_populates="episode", order_by="Signoff.id")
    items: Mapped[list["ChecklistItem"]] = relationship(
        back_populates="episode", order_by="ChecklistItem.position"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Episode {self.id}>"


class ChecklistItem(Base):
    """One protocol step for one episode: its current state (history is in the audit)."""

    __tablename__ = "checklist_item"
    __table_args__ = (
        UniqueConstraint("episode_id", "step_id"),
        Index("ix_checklist_item_open_due", "status", "due_date"),
        # Outstanding items by due date: the dashboard's order and its counts per state, read
        # off the index alone for the phase, role and required filters; the overdue report.
        Index(
            "ix_checklist_item_outstanding",
            "due_date",
            "overdue_from",
            "phase",
            "role",
            "required",
            "id",
            sqlite_where=text("outstanding = 1"),
            postgresql_where=text("outstanding"),
        ),
        # Items with a safety alert waiting for acknowledgement: the dashboard's filter and count.
        Index(
            "ix_checklist_item_alert_open",
            "episode_id",
            sqlite_where=text("alert_open = 1"),
            postgresql_where=text("alert_open"),
        ),
        # ... and by episode: the dashboard's "by episode" view.
        Index(
            "ix_checklist_item_outstanding_episode",
            "episode_id",
            "due_date",
            sqlite_where=text("outstanding = 1"),
            postgresql_where=text("outstanding"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("protocol_step.id"), index=True)
    # Copied from the step so lists and flags filter in SQL without a join.
    phase: Mapped[Phase] = mapped_column(str_enum(Phase))
    position: Mapped[int] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean)
    role: Mapped[Role] = mapped_column(str_enum(Role))
    due_date: Mapped[date | None] = mapped_column(Date)
    # The first day the item is overdue: the day after its due date and its step's grace days.
    overdue_from: Mapped[date | None] = mapped_column(Date)
    # A conditional step's item (`required_if`): the day its condition started to hold, while it
    # does; None while it does not (app/domain/requirement.py, app/services/requirements.py).
    required_since: Mapped[date | None] = mapped_column(Date)
    # A sessions item's plan for this episode's procedure type (its step's variant applied).
    session_count: Mapped[int | None] = mapped_column(Integer)
    sessions_from_days: Mapped[int | None] = mapped_column(Integer)
    sessions_until_days: Mapped[int | None] = mapped_column(Integer)
    # A safety alert its value raised (its step's `alert`), until a user of an acknowledging role
    # records the plan; reopening or changing the value starts over (app/domain/alerts.py).
    alert_acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    alert_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alert_acknowledgement: Mapped[str | None] = mapped_column(Text)
    # Raised and not acknowledged: kept in step by app/services/stored_flags.py, for the lists.
    alert_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus), default=ItemStatus.OPEN)
    value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The site's local date of completion, compared with due_date for "completed on time".
    completed_on: Mapped[date | None] = mapped_column(Date)
    # Open, in an open episode, in a phase not signed off: kept in step by app/services/stored_flags.py.
    outstanding: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    episode: Mapped[Episode] = relationship(back_populates="items")
    step: Mapped[ProtocolStep] = relationship()
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    alert_acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[alert_acknowledged_by_id])
    notes: Mapped[list["ItemNote"]] = relationship(back_populates="item", order_by="ItemNote.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def title(self) -> str:
        return self.step.title

    def __repr__(self) -> str:
        return f"<ChecklistItem {self.id} {self.status}>"


class Signoff(Base):
    """A surgeon's electronic signature of one phase of an episode.

    What was signed (signer, time, meaning, statement, content hash) never changes;
    a revocation is recorded on the row once, and a new signature is a new row.
    At most one signature per phase is active (not revoked).
    """

    __tablename__ = "signoff"
    __table_args__ = (
        Index(
            "uq_signoff_active_phase",
            "episode_id",
            "phase",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    phase: Mapped[Phase] = mapped_column(str_enum(Phase))
    signer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    signer_name: Mapped[str] = mapped_column(String(120))
    signer_role: Mapped[Role] = mapped_column(str_enum(Role))
    meaning: Mapped[str] = mapped_column(String(120))
    statement: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    episode: Mapped[Episode] = relationship(back_populates="signoffs")
    signer: Mapped[User] = relationship(foreign_keys=[signer_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def __repr__(self) -> str:
        return f"<Signoff {self.episode_id} {self.phase}>"


class ItemNote(Base):
    """A free-text note on an item; notes are added, never edited."""

    __tablename__ = "item_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_item.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)

    item: Mapped[ChecklistItem] = relationship(back_populates="notes")
    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ItemNote {self.id}>"


class AuditEvent(Base):
    """Append-only, hash-chained record of every change; a trigger refuses edits."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"), index=True)
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episode.id"), index=True)
    summary: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"


class TherapySession(Base):
    """A physical or occupational therapy session logged by a therapist."""

    __tablename__ = "therapy_session"
    __table_args__ = (Index("ix_therapy_session_episode_date", "episode_id", "session_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    session_date: Mapped[date] = mapped_column(Date)
    discipline: Mapped[Discipline] = mapped_column(str_enum(Discipline, 4))
    minutes: Mapped[int | None] = mapped_column(Integer)  # None: a missed or cancelled session
    attendance: Mapped[Attendance] = mapped_column(str_enum(Attendance, 30))
    pain_before: Mapped[int | None] = mapped_column(Integer)
    pain_after: Mapped[int | None] = mapped_column(Integer)
    activities: Mapped[str] = mapped_column(Text, default="")
    home_exercise_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    prehabilitation: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    episode: Mapped[Episode] = relationship()
    therapist: Mapped[User] = relationship()
    addenda: Mapped[list["SessionAddendum"]] = relationship(
        back_populates="session", order_by="SessionAddendum.id"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<TherapySession {self.id} {self.discipline} {self.session_date}>"


class SessionAddendum(Base):
    """A note added to a therapy session after its 24-hour correction window."""

    __tablename__ = "session_addendum"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("therapy_session.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)

    session: Mapped[TherapySession] = relationship(back_populates="addenda")
    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<SessionAddendum {self.id}>"


class OutcomeScore(Base):
    """A patient-reported outcome score at a time point; re-recording corrects it (audited)."""

    __tablename__ = "outcome_score"
    __table_args__ = (UniqueConstraint("episode_id", "time_point", "instrument"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), index=True)
    time_point: Mapped[TimePoint] = mapped_column(str_enum(TimePoint))
    instrument: Mapped[Instrument] = mapped_column(str_enum(Instrument))
    value: Mapped[int] = mapped_column(Integer)
    taken_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    episode: Mapped[Episode] = relationship()
    recorded_by: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<OutcomeScore {self.episode_id} {self.time_point} {self.instrument}={self.value}>"


class OutstandingTally(Base):
    """How many outstanding items share a due date, first overdue day, phase, role and required
    flag, so the dashboard's counts per state sum a few rows (one per due date and kind of item)
    instead of counting every outstanding item. Kept by database triggers on checklist_item
    (migrations 0005, 0008), whoever changes the items; never written by the app.
    """

    __tablename__ = "outstanding_tally"
    __table_args__ = (
        Index(
            "ix_outstanding_tally_key",
            "due_date",
            "overdue_from",
            "phase",
            "role",
            "required",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    due_date: Mapped[date | None] = mapped_column(Date)
    overdue_from: Mapped[date | None] = mapped_column(Date)
    phase: Mapped[Phase] = mapped_column(str_enum(Phase))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    required: Mapped[bool] = mapped_column(Boolean)
    items: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<OutstandingTally {self.due_date} {self.phase} {self.role} {self.items}>"


class FlagDateTally(Base):
    """How many episodes share a pair of stored flag dates (`EpisodeFlagDate`, one row per pair
    with at least one date), so the count of flagged episodes sums a few rows (the pairs are days,
    not episodes). Kept by database triggers on episode_flag_date (migration 0005); never written
    by the app.
    """

    __tablename__ = "flag_date_tally"
    __table_args__ = (
        Index(
            "ix_flag_date_tally_key",
            "flagged_from",
            "unsigned_surgery_on",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    flagged_from: Mapped[date | None] = mapped_column(Date)
    unsigned_surgery_on: Mapped[date | None] = mapped_column(Date)
    episodes: Mapped[int] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<FlagDateTally {self.flagged_from} {self.unsigned_surgery_on} {self.episodes}>"


class EpisodeFlagDate(Base):
    """When an open episode raises its flags, kept in step with every change to it
    (app/services/stored_flags.py), so lists and counts find flagged episodes with indexed comparisons:

    - `flagged_from`: the first day it raises "Incomplete post-op steps", "Therapy behind plan"
      or "Not improving" (each stays raised, as days pass, until the episode changes);
    - `unsigned_surgery_on`: its surgery date while Before surgery is not signed off ("Pre-op not
      signed off" is raised from SIGNOFF_WARNING_DAYS before it, a setting applied when reading).
    """

    __tablename__ = "episode_flag_date"

    episode_id: Mapped[int] = mapped_column(ForeignKey("episode.id"), primary_key=True)
    flagged_from: Mapped[date | None] = mapped_column(Date, index=True)
    unsigned_surgery_on: Mapped[date | None] = mapped_column(Date, index=True)

    def __repr__(self) -> str:
        return f"<EpisodeFlagDate {self.episode_id} {self.flagged_from} {self.unsigned_surgery_on}>"
