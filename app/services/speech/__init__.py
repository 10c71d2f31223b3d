"""Speech synthesis behind ``SpeechSynthesizer``: the local espeak-ng voice now, ElevenLabs later."""
