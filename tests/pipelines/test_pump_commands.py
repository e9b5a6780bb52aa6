"""score_messages (analysts score a file) and train_pump_model (the shipped model rebuilds from the repository)."""

import csv
import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from pipelines.enrich import PumpClassifier, SentimentScorer, clean_text
from pipelines.enrich.pump_model import PUMP_MODEL_PATH, domains_guess
from pipelines.management.commands import score_messages
from warehouse.models import Ticker

MESSAGES = [
    "🚀🚀 $IRFC multibagger alert! Target ₹120 sure shot, buy now before it's too late 🔥🔥",
    "TCS Q2 results: net profit up 8.7% YoY; board declares interim dividend",
    "",
    "The coin we have picked to pump today is : NEBL",
]


def _score(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("score_messages", str(path), *args, stdout=out, stderr=err)
    return list(csv.DictReader(io.StringIO(out.getvalue()))), err.getvalue()


@pytest.fixture
def master(db):
    Ticker.objects.get_or_create(symbol="IRFC", exchange="NSE", defaults={"name": "Indian Railway Finance Corporation"})
    Ticker.objects.get_or_create(symbol="TCS", exchange="NSE", defaults={"name": "Tata Consultancy Services"})


def test_it_adds_the_scores_to_every_csv_row_in_input_order(tmp_path, master):
    path = tmp_path / "msgs.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "message", "channel"])
        writer.writerows([str(i), text, "tips"] for i, text in enumerate(MESSAGES))
    rows, _ = _score(path)
    expected = PumpClassifier(view="auto").detect_many([clean_text(t) for t in MESSAGES])
    assert [r["id"] for r in rows] == ["0", "1", "2", "3"]
    assert list(rows[0]) == [
        "id",
        "message",
        "channel",
        "pump_score",
        "is_pump_signal",
        "rules",
        "sentiment",
        "tickers",
        "pump_terms",
        "pump_domain",
    ]
    assert [r["message"] for r in rows] == MESSAGES
    # Each message in the view of the market it names; the two naming neither take the file's (a tie: NSE).
    assert [r["pump_domain"] for r in rows] == ["nse", "nse", "nse", "crypto"]
    assert [float(r["pump_score"]) for r in rows] == [e.pump_score for e in expected]
    assert [r["is_pump_signal"] for r in rows] == ["True", "False", "False", "True"]
    assert rows[0]["rules"] == ";".join(expected[0].rules)
    assert "multibagger" in rows[0]["rules"].split(";")
    assert [r["tickers"] for r in rows] == ["IRFC", "TCS", "", ""]
    assert rows[1]["sentiment"] == SentimentScorer().score(clean_text(MESSAGES[1]))[0]
    assert rows[3]["pump_terms"] == ";".join(expected[3].terms) != ""
    assert (rows[2]["rules"], rows[2]["is_pump_signal"], rows[2]["pump_terms"]) == ("", "False", "")


def test_crypto_channel_messages_are_scored_in_the_crypto_view_when_asked(tmp_path, master):
    path = tmp_path / "msgs.csv"
    path.write_text("message\n" + "\n".join(f'"{t}"' for t in MESSAGES) + "\n")
    rows, _ = _score(path, "--domain", "crypto")
    expected = PumpClassifier(view="crypto").detect_many([clean_text(t) for t in MESSAGES])
    assert [float(r["pump_score"]) for r in rows] == [e.pump_score for e in expected]
    default, _ = _score(path)
    assert [r["pump_score"] for r in default] != [r["pump_score"] for r in rows]  # two sets of weights
    with pytest.raises(CommandError, match="invalid choice: 'forex'"):
        call_command("score_messages", str(path), "--domain", "forex")


CRYPTO_CHANNEL = Path(__file__).parents[1] / "data/samples/telegram/pump_labelled/internal_1750404698.csv"


def test_a_crypto_channels_file_is_scored_in_the_crypto_view_without_being_asked(tmp_path, master):
    """A labelled channel's file as it is (label,id,date,channel_id,message): the default (--domain auto) reads
    crypto from its words and scores every message in the crypto view, even those naming no coin. In the NSE view
    10 of its 22 unrelated messages (VIP offers, exchange news) would have been flagged."""
    rows, _ = _score(CRYPTO_CHANNEL)
    texts = [clean_text(r["message"]) for r in rows]
    assert len(rows) == 75
    assert {r["pump_domain"] for r in rows} == {"crypto"}
    assert any(domains_guess([t]) == ["nse"] for t in texts)  # a message naming neither: the file's domain
    crypto = PumpClassifier(view="crypto").detect_many(texts)
    assert [float(r["pump_score"]) for r in rows] == [e.pump_score for e in crypto]
    unrelated = [i for i, r in enumerate(rows) if float(r["label"]) == 5]  # (written "5.0" in this file)
    nse_view = PumpClassifier(view="nse").detect_many(texts)
    assert sum(nse_view[i].is_pump_signal for i in unrelated) == 10
    assert sum(rows[i]["is_pump_signal"] == "True" for i in unrelated) == 0
    asked, _ = _score(CRYPTO_CHANNEL, "--domain", "nse")
    assert [float(r["pump_score"]) for r in asked] == [e.pump_score for e in nse_view]
    assert {r["pump_domain"] for r in asked} == {"nse"}


def test_it_reads_json_lines_with_another_column(tmp_path, master, capsys):
    path = tmp_path / "msgs.jsonl"
    lines = [json.dumps({"text": t, "n": i, "meta": {"k": i}}) for i, t in enumerate(MESSAGES[:2])]
    path.write_text("\n".join(lines) + "\n\n")
    rows, _ = _score(path, "--column", "text")
    assert [(r["n"], r["text"], r["meta"]) for r in rows] == [
        ("0", MESSAGES[0], '{"k": 0}'),
        ("1", MESSAGES[1], '{"k": 1}'),
    ]
    assert [r["is_pump_signal"] for r in rows] == ["True", "False"]
    assert capsys.readouterr().err == ""  # small files: no progress bar


def test_large_files_get_a_progress_bar_on_stderr(tmp_path, master, monkeypatch, capsys):
    monkeypatch.setattr(score_messages, "PROGRESS_FROM", 3)
    path = tmp_path / "msgs.csv"
    path.write_text("message\n" + "\n".join(f"msg {i}" for i in range(3)) + "\n")
    rows, _ = _score(path)
    assert len(rows) == 3
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "msg/s" in err


@pytest.mark.parametrize(
    ("name", "body", "args", "error"),
    [
        ("missing.csv", None, [], "missing.csv: no such file"),
        ("m.csv", "text,id\nhello,1\n", [], "m.csv: no column 'message' (columns: text, id)"),
        ("m.jsonl", '{"message": "a"}\nnot json\n', [], "m.jsonl: line 2 is not JSON (Expecting value)"),
        ("m.jsonl", '["a list"]\n', [], "m.jsonl: line 1 is not a JSON object"),
        ("m.csv", b"message\n\xff\xfe bad\n", [], "m.csv: not UTF-8 text (byte 8)"),
        # An empty file was scored as nothing: a bare header of the added columns, and no word of why.
        ("m.csv", "", [], "m.csv: empty, no messages"),
        ("m.jsonl", "\n\n", [], "m.jsonl: empty, no messages"),
        ("m.csv", "text\n", [], "m.csv: no column 'message' (columns: text)"),
    ],
)
def test_a_bad_file_is_one_line_error_and_no_output(tmp_path, master, name, body, args, error):
    path = tmp_path / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    elif body is not None:
        path.write_text(body)
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("score_messages", str(path), *args, stdout=out)
    assert str(exc.value) == f"{tmp_path}/{error}"
    assert "\n" not in str(exc.value)
    assert out.getvalue() == ""


def test_a_header_alone_is_no_rows_under_the_full_header(tmp_path, master):
    path = tmp_path / "m.csv"
    path.write_text("id,message\n")
    out = io.StringIO()
    call_command("score_messages", str(path), stdout=out, stderr=io.StringIO())
    assert out.getvalue() == "id,message,pump_score,is_pump_signal,rules,sentiment,tickers,pump_terms,pump_domain\n"


def test_a_pipe_or_a_device_is_refused_before_it_is_read(tmp_path, master):
    # Read to their end, a FIFO waits for a writer for ever and /dev/zero fills the memory.
    fifo = tmp_path / "messages.csv"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(CommandError, match=rf"^{path}: not a regular file$"):
            call_command("score_messages", str(path), stdout=io.StringIO())


def _model(path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


# The weights are stored to six decimals. The solver's last bits follow the CPU's floating-point kernels:
# a rebuild on another machine parted from the shipped file in 38 of ~116,000 weights, each by one unit
# in the sixth decimal. Everything else must be identical.
WEIGHT_TOLERANCE = 1.5e-6


def test_train_pump_model_rebuilds_the_shipped_model(tmp_path):
    target = tmp_path / "model.json.gz"
    out = io.StringIO()
    call_command("train_pump_model", "--output", str(target), stdout=out)
    assert "trained on 3,504 messages from 135 channels and 328 written messages" in out.getvalue()
    rebuilt, shipped = _model(target), _model(PUMP_MODEL_PATH)
    weights = ("term_weights", "rule_weights", "shape_weights", "intercept")
    assert {k: v for k, v in rebuilt.items() if k not in (*weights, "nse")} == {
        k: v for k, v in shipped.items() if k not in (*weights, "nse")
    }  # the same terms in the same order, IDF, classes, rules, threshold and training facts
    assert rebuilt["nse"]["terms"] == shipped["nse"]["terms"]  # the terms the NSE messages have
    for part, name in [(None, n) for n in weights] + [("nse", n) for n in weights]:
        got = np.asarray((rebuilt[part] if part else rebuilt)[name])
        want = np.asarray((shipped[part] if part else shipped)[name])
        assert got.shape == want.shape, (part, name)
        assert np.abs(got - want).max() <= WEIGHT_TOLERANCE, (part, name)


@pytest.mark.parametrize("written", [False, True], ids=["labelled-only", "with-written"])
def test_a_model_trained_on_two_labels_loads_and_scores(tmp_path, written):
    """A user's own labelled folder may hold pump announcements (0) and unrelated messages (5) only: scikit-learn
    then keeps one row of weights, and the model must still load and score in both views."""
    from pipelines.enrich.pump_model import pump_model_load
    from pipelines.enrich.pump_training import LABELLED_DIR

    data = tmp_path / "labelled"
    data.mkdir()
    for path in sorted(LABELLED_DIR.glob("*.csv")):
        with path.open(newline="") as src, (data / path.name).open("w", newline="") as dst:
            reader = csv.DictReader(src)
            writer = csv.DictWriter(dst, fieldnames=["label", "channel_id", "message"])
            writer.writeheader()
            for row in reader:
                if row["label"].split(".")[0] in ("0", "5"):
                    writer.writerow({k: row[k] for k in ("label", "channel_id", "message")})
    target = tmp_path / "binary.json.gz"
    args = ["--data", str(data), "--output", str(target)]
    if written:
        own = tmp_path / "written.csv"
        own.write_text(
            "label,message\n"
            "0,🚀 $IRFC multibagger alert! buy now before it flies\n"
            "0,operator stock jackpot: abhi buy karo target 520\n"
            "5,TCS Q2 results: net profit up 8.7% YoY\n"
            "5,Sensex ends flat as IT stocks slip\n"
        )
        args += ["--written", str(own)]
    else:
        args.append("--no-written")
    call_command("train_pump_model", *args, stdout=io.StringIO())
    assert _model(target)["classes"] == [0, 5]
    for view in ("nse", "crypto"):
        classifier = PumpClassifier(model=pump_model_load(target, view=view))
        pump, plain = classifier.detect_many(
            [
                "Pump announcement! Hello everyone, the next official pump is on Sunday at 17:00 GMT on Binance",
                "Long signal BTC/USDT entry 42000 take profit 43500 stop loss 41000",
            ]
        )
        assert pump.model_score > 0.5 > plain.model_score, view


def test_train_pump_model_with_a_bad_written_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "written.csv"
    bad.write_text("label,message\n7,a label that is no class\n")
    target = tmp_path / "m.json.gz"
    with pytest.raises(CommandError, match=r"^cannot read the written training messages in .*: labels must be 0-5$"):
        call_command("train_pump_model", "--written", str(bad), "--output", str(target))
    bad.write_text("text\nno label column\n")
    with pytest.raises(CommandError, match=r"^cannot read the written training messages in "):
        call_command("train_pump_model", "--written", str(bad), "--output", str(target))
    assert not target.exists()


@pytest.mark.parametrize(
    ("output", "error"),
    [
        ("{tmp}", "--output {tmp}: is a folder; give the model's file (e.g. {tmp}/pump_model.json.gz)"),
        ("{tmp}/file/m.json.gz", "--output {tmp}/file/m.json.gz: {tmp}/file is not a folder"),
        # /proc takes no new files, not even from root (a read-only folder would not stop root)
        ("/proc/m.json.gz", "--output /proc/m.json.gz: cannot write there (No such file or directory)"),
    ],
    ids=["a-folder", "under-a-file", "unwritable"],
)
def test_train_pump_model_refuses_an_output_it_cannot_write_before_training(tmp_path, monkeypatch, output, error):
    """Was a traceback (IsADirectoryError, FileNotFoundError) after the whole training."""
    from pipelines.management.commands import train_pump_model

    (tmp_path / "file").write_text("a file")

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking where the model goes")

    monkeypatch.setattr(train_pump_model, "model_fit_written", no_training)
    with pytest.raises(CommandError) as exc:
        call_command("train_pump_model", "--output", output.format(tmp=tmp_path))
    assert str(exc.value) == error.format(tmp=tmp_path)


def test_a_model_write_cut_short_leaves_the_old_model_whole(tmp_path, monkeypatch):
    """Every scoring process loads the shipped model: a half-written file (a full disk) would break them all."""
    from pipelines.enrich import pump_training

    target = tmp_path / "models" / "m.json.gz"
    pump_training.model_save({"terms": ["old"]}, target, meta={})
    before = target.read_bytes()

    def disk_full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gzip.GzipFile, "write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        pump_training.model_save({"terms": ["new"]}, target, meta={})
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["m.json.gz"]  # no temporary file left behind
    monkeypatch.undo()
    pump_training.model_save({"terms": ["new"]}, target, meta={})
    assert _model(target)["terms"] == ["new"]
    assert target.stat().st_mode & 0o777 == 0o644  # readable by every worker, like the file it replaces


def test_train_pump_model_without_data_is_a_one_line_error(tmp_path):
    with pytest.raises(CommandError, match=r"^cannot read the labelled data in .*: no labelled CSV files in "):
        call_command("train_pump_model", "--data", str(tmp_path), "--output", str(tmp_path / "m.json.gz"))
    assert not (tmp_path / "m.json.gz").exists()


class _ClosedAfterOneLine(io.StringIO):
    """A pipe whose reader went away after the first line (`score_messages … | head -1`)."""

    def write(self, text):
        if self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path, master):
    path = tmp_path / "msgs.csv"
    path.write_text("message\n" + "\n".join(f"$IRFC to the moon {n}" for n in range(50)) + "\n")
    out, err = _ClosedAfterOneLine(), io.StringIO()
    call_command("score_messages", str(path), stdout=out, stderr=err)  # no BrokenPipeError, no traceback
    assert out.getvalue().startswith("message,pump_score,")
    assert err.getvalue() == ""
