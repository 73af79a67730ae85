//! Sounds through the `emb` binary: `audio:MODEL` vectors, a collection of sounds searched by a
//! sound, and what is not a sound.

mod common;

use std::path::{Path, PathBuf};

use common::{failure, json_lines, success, Sandbox};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn audio_clip() -> String {
    format!("audio:{}", fixtures().join("tiny/clip-h32-st").display())
}

fn sounds() -> PathBuf {
    fixtures().join("sounds")
}

#[test]
fn a_sound_embeds_as_its_spectrogram_through_clip() {
    let sandbox = Sandbox::new();
    let description: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sounds().join("sounds.json")).unwrap())
            .unwrap();
    for name in ["chirp.wav", "duet.flac"] {
        let (stdout, _) = success(
            sandbox.emb().args(["embed", "-m", &audio_clip(), "-i"]).arg(sounds().join(name)),
        );
        let vector: Vec<f32> = serde_json::from_str(stdout.trim()).unwrap();
        let expected: Vec<f32> = description[name]["clip-h32"]
            .as_array()
            .unwrap()
            .iter()
            .map(|value| value.as_f64().unwrap() as f32)
            .collect();
        let similarity = emb::distance::cosine(&vector, &expected);
        assert!(similarity >= 0.9999, "{name}: cosine {similarity}");
    }
    let stderr = failure(sandbox.emb().args(["embed", "-m", &audio_clip(), "-c", "a dog barking"]));
    assert!(stderr.contains("it embeds sounds"), "{stderr}");
}

#[test]
fn a_folder_of_sounds_is_searched_by_a_sound_and_bad_files_are_reported() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path().join("sounds");
    std::fs::create_dir(&folder).unwrap();
    for name in ["chirp.wav", "duet.flac", "chirp.ogg", "chirp.mp3"] {
        std::fs::copy(sounds().join(name), folder.join(name)).unwrap();
    }
    std::fs::write(folder.join("broken.wav"), b"RIFF\x10\0\0\0WAVEjunk").unwrap();
    let embed = |skip: bool| {
        let mut command = sandbox.emb();
        command
            .args(["embed-multi", "sounds", "--binary", "--store", "-m", &audio_clip(), "--files"])
            .arg(&folder)
            .arg("*.{wav,flac,ogg,mp3}");
        if skip {
            command.arg("--skip-errors");
        }
        command
    };
    let stderr = failure(&mut embed(false));
    assert!(stderr.contains("broken.wav") && stderr.contains("sound"), "{stderr}");
    let (_, stderr) = success(&mut embed(true));
    assert!(stderr.contains("skipped") && stderr.contains("broken.wav"), "{stderr}");
    assert!(stderr.contains("4 embedded"), "{stderr}");
    let (stdout, _) = success(
        sandbox.emb().args(["similar", "sounds", "-n", "2", "-i"]).arg(sounds().join("chirp.wav")),
    );
    let hits = json_lines(&stdout);
    assert_eq!(hits[0]["id"], "chirp.wav");
    // The same chirp, compressed, is nearer than the other sound.
    assert!(hits[1]["id"] == "chirp.ogg" || hits[1]["id"] == "chirp.mp3", "{stdout}");
}
