"""The pack file: a personalisation matrix and/or an explicit track list, with settings
for every track (``defaults``) and a naming template for the files."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from voiceguide.io.models import FileModel
from voiceguide.io.paths import NAME_FIELDS
from voiceguide.languages import language_tag, most_spoken
from voiceguide.settings import MAX_MINUTES, MAX_NAME, MIN_MINUTES, Level, TrackSettings
from voiceguide.settings import printable_text as _printable
from voiceguide.vocabulary import minutes_of

MAX_TRACKS: Final = 10_000
"""Most tracks one pack may expand to."""
DEFAULT_OUTPUT: Final = "{n:02d}-{routine}-{name}-{length}"
FIELDS: Final = NAME_FIELDS
"""Fields a pack's ``output`` naming template may use."""

Name = Annotated[str, Field(max_length=MAX_NAME)]
GroupBy = Literal["name", "routine"]
"""What a pack may group its tracks by: the listener's name, or the routine."""
GROUP_KEYS: Final[tuple[str, ...]] = get_args(GroupBy)


class PackTrack(TrackSettings):
    """One explicitly listed track: a routine and the settings that differ for it."""

    routine: Annotated[str, Field(min_length=1), AfterValidator(_printable)] = Field(
        description="Routine name or file.")
    file: Annotated[str | None, AfterValidator(_printable)] = Field(
        None, description="Output naming template for this track.")

    def layer(self) -> TrackSettings:
        """The track's own settings, as a layer."""
        given = {k: v for k, v in self.given().items() if k not in ("routine", "file")}
        return TrackSettings.model_validate(given)


def _none_list() -> list[Any]:
    return [None]


class Matrix(FileModel):
    """Every combination of these lists becomes a track (routines x names x ...)."""

    routines: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = Field(
        description="Routine names or files."
    )
    names: Annotated[list[Name], Field(min_length=1)] = Field(
        default_factory=lambda: [""], description="Listeners' names."
    )

    @field_validator("routines", "names", "beds")
    @classmethod
    def _printable_items(cls, values: list[Any]) -> list[Any]:
        for v in values:
            _printable(v)
        return values

    minutes: Annotated[list[Annotated[float, Field(ge=MIN_MINUTES, le=MAX_MINUTES),
                                      BeforeValidator(minutes_of)] | None],
                       Field(min_length=1)] = Field(
        default_factory=_none_list, description="Track lengths in minutes, or minutes and "
        "seconds as text ('3:30'), as a track's minutes."
    )
    beds: Annotated[list[str | None], Field(min_length=1)] = Field(
        default_factory=_none_list, description="Beds."
    )
    levels: Annotated[list[Level | None], Field(min_length=1)] = Field(
        default_factory=_none_list, description="Levels."
    )


class Pack(FileModel):
    """A pack file."""

    title: Annotated[str, Field(min_length=1, max_length=120)] = Field(
        description="Pack title: the album tag and the feed title."
    )
    feed_id: Annotated[str, Field(max_length=120)] = Field(
        "", description="What each episode's ID in feed.xml (its GUID) is made from, with "
        "its folder and file. Default: the title. A pack renamed after its feed went out "
        "keeps its episodes with feed_id set to the title it had.")
    author: Annotated[str, Field(max_length=120)] = Field(
        "voiceguide", description="Who made the pack (artist tag, feed author)."
    )
    description: Annotated[str, Field(max_length=4000)] = Field(
        "", description="A few sentences for the feed (Apple takes at most 4000 characters).")
    email: Annotated[str, Field(max_length=200, pattern=r"^([^@\s<>]+@[^@\s<>]+)?$")] = Field(
        "", description="The owner's email (itunes:owner in feed.xml; Apple asks for it).")
    published: Annotated[datetime.date, Field(ge=datetime.date(1970, 1, 1),
                                              le=datetime.date(9000, 12, 31))] = Field(
        datetime.date(2025, 1, 1),
        description="Date of the first episode (feed pubDate; each next track a day "
        "later). Fixed, so rebuilds give the same feed.")
    language: Annotated[str, Field(max_length=35)] = Field(
        "en", description="Feed and player language code (BCP 47: en, de, pt-BR). "
        "Default: the language most of a feed's tracks speak (a tie: the first's).")
    output: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        DEFAULT_OUTPUT,
        description="File name template; fields: " + ", ".join(FIELDS)
        + ". Always sanitised to a safe name.",
    )
    profile: Annotated[str | None, AfterValidator(_printable)] = Field(
        None, description="Profile file (relative to the pack).")
    group_by: GroupBy | None = Field(
        None, description="One folder per listener ('name') or per routine ('routine'), "
        "each with its own tracks, feed, player, playlist and zip, and an overview page "
        "at the pack's root. Default: every track in one folder.")
    defaults: TrackSettings = Field(
        default_factory=TrackSettings, description="Settings for every track."
    )
    matrix: Matrix | None = Field(None, description="A personalisation matrix.")
    tracks: list[PackTrack] = Field(default_factory=list, description="Explicit tracks.")

    check_text = field_validator("title", "feed_id", "author")(_printable)

    def feed_seed(self) -> str:
        """What the feed's episode IDs are made from: ``feed_id``, else the title."""
        return self.feed_id or self.title

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str) -> str:
        code = language_tag(value)  # en_US as a routine's language reads it: en-US
        if code is None:
            raise ValueError(f"must be a language code such as en, de or pt-BR (got "
                             f"{value[:40]!r})")
        return code

    def page_language(self, sheets: list[dict[str, Any]]) -> str:
        """The language of a feed and page of tracks (their cue ``sheets``): the pack's
        ``language`` when it gives one, else the language most of the tracks speak (a
        listener's German tracks are a German feed; a tie goes to the first track's),
        else English (no track says its language)."""
        if "language" in self.model_fields_set:
            return self.language
        return most_spoken(sheet.get("language") for sheet in sheets) or self.language

    @field_validator("description")
    @classmethod
    def _printable_lines(cls, value: str) -> str:
        return str(_printable(value, "\n\t"))  # lines are fine

    @model_validator(mode="after")
    def _some_tracks(self) -> Pack:
        if self.matrix is None and not self.tracks:
            raise ValueError("a pack needs a 'matrix' or a 'tracks' list")
        return self
