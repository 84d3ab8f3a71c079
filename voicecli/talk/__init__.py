"""`voicecli talk`: a real-time voice conversation (library API: ``voicecli.talk.run_talk``)."""
