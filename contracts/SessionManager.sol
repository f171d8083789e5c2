// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Consortium} from "./Consortium.sol";

/// @title SessionManager
/// @notice The public record of SPDZ-style MPC sessions among consortium orgs: who takes part,
/// what job, the preprocessing commitments, input and output commitments, every checkpoint
/// (agreeing transcript digests and a passing batched MAC check) and the result.
/// @dev Life cycle of a session:
///   Opened --commitPreprocessing--> Preprocessed --(checkpoint passes: sacrifice checked)-->
///   --commitInput (all orgs)--> Computing --(checkpoint passes: output allowed)-->
///   --commitOutput, revealOutput (all orgs)--> OutputRevealed --(checkpoint passes)--> Finalised.
///   Any live session can become Aborted. Aborting never reverts: a failed check, a participant's
///   abort or an expired deadline is recorded on-chain.
///
///   A checkpoint has two rounds: every participant commits (digest, sigma commitment); when
///   all digests agree the reveal round opens; every participant reveals sigma; the checkpoint
///   passes when the sigmas sum to zero mod the session's modulus.
///
///   Error conventions: `WrongState(expected, actual)` names the state the call needs. The
///   checkpoint functions are allowed in several states (Preprocessed, Computing, OutputRevealed)
///   and the only live state in which they are not is Opened; they report
///   `WrongState(Preprocessed, Opened)`, i.e. the earliest state in which they are allowed.
///   A call in the right state but at the wrong moment within it reverts `WrongPhase()`.
///   `revealOutput` with an empty vector or more than 64 values, before the length is fixed,
///   reverts `LengthMismatch(1, 0)` or `LengthMismatch(64, length)` (the bound violated).
///   Checks run in this order: session exists, is not closed, deadline not passed, caller's role,
///   state, phase, not yet submitted, arguments.
contract SessionManager {
    /// @notice The life-cycle state of a session.
    enum State {
        None,
        Opened,
        Preprocessed,
        Computing,
        OutputRevealed,
        Finalised,
        Aborted
    }

    /// @notice Why a session was aborted.
    enum AbortReason {
        None,
        DigestMismatch,
        SigmaMismatch,
        MacCheckFailed,
        OutputMismatch,
        ParticipantAbort,
        Expired
    }

    struct Session {
        bytes32 jobHash;
        uint256 modulus;
        address preprocessor;
        uint64 deadline;
        State state;
        bool sacrificeChecked;
        bool outputAllowed;
        bool revealOpen;
        bool digestMismatch;
        uint32 checkpointCount;
        uint32 cpCommits;
        uint32 cpReveals;
        uint32 inputCount;
        uint32 outputCommits;
        uint32 outputReveals;
        uint32 outputLength;
        bytes32 cpDigest;
        uint256 sigmaSum;
        AbortReason abortReason;
        address abortCulprit;
        uint32 abortCheckpoint;
        bytes32 abortDetail;
        address[] participants;
    }

    uint256 internal constant MAX_OUTPUTS = 64;

    /// @notice The consortium registry whose orgs take part in sessions.
    Consortium public immutable consortium;

    /// @notice The number of sessions opened so far; session ids run from 1 to `sessionCount`.
    uint256 public sessionCount;

    mapping(uint256 id => Session) private _sessions;
    mapping(uint256 id => mapping(address org => bool)) private _isParticipant;
    mapping(uint256 id => mapping(address org => bytes32)) private _batchHashes;
    mapping(uint256 id => mapping(uint32 cp => mapping(address org => bytes32)))
        private _sigmaCommitments;
    mapping(uint256 id => mapping(uint32 cp => mapping(address org => bool))) private _sigmaRevealed;
    mapping(uint256 id => mapping(address org => bytes32)) private _inputCommitments;
    mapping(uint256 id => mapping(address org => bytes32)) private _outputCommitments;
    mapping(uint256 id => mapping(address org => bool)) private _outputRevealed;
    mapping(uint256 id => uint256[]) private _outputSums;

    /// @notice The caller may not open sessions (neither the consortium admin nor an org).
    error NotAuthorized(address caller);
    /// @notice A session needs at least two participants.
    error TooFewParticipants();
    /// @notice The address is not a registered org.
    error UnknownOrg(address org);
    /// @notice The address appears twice in the participant list.
    error DuplicateParticipant(address org);
    /// @notice The modulus must be odd and at least 3.
    error InvalidModulus(uint256 modulus);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice The deadline must lie in the future.
    error InvalidDeadline(uint64 deadline);
    /// @notice No session has this id.
    error UnknownSession(uint256 sessionId);
    /// @notice The session is Finalised or Aborted.
    error SessionClosed(uint256 sessionId, State state);
    /// @notice The session's deadline has passed; only `abortExpired` remains.
    error DeadlinePassed(uint256 sessionId, uint64 deadline);
    /// @notice `abortExpired` was called before the deadline passed.
    error DeadlineNotPassed();
    /// @notice The caller is not a participant of the session.
    error NotParticipant(address caller);
    /// @notice The caller is not the session's preprocessing service.
    error NotPreprocessor(address caller);
    /// @notice The session is not in the state the call needs.
    error WrongState(State expected, State actual);
    /// @notice The call is not allowed at this point of the current state.
    error WrongPhase();
    /// @notice A list has the wrong length.
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @notice A required value is zero.
    error EmptyField(string field);
    /// @notice The caller already submitted this item.
    error AlreadySubmitted(address caller);
    /// @notice A value is not below the session's modulus.
    error ValueOutOfField(uint256 value);
    /// @notice Inputs need a passed sacrifice-check checkpoint first.
    error SacrificeNotChecked();
    /// @notice Outputs need a checkpoint passed after all inputs were committed.
    error MacCheckRequired();

    /// @notice A session was opened.
    event SessionOpened(
        uint256 indexed sessionId,
        bytes32 jobHash,
        address[] participants,
        uint256 modulus,
        address preprocessor,
        uint64 deadline
    );
    /// @notice A session moved to `state`.
    event StateChanged(uint256 indexed sessionId, State state);
    /// @notice The preprocessing service committed to the hash of `org`'s batch.
    event PreprocessingCommitted(uint256 indexed sessionId, address indexed org, bytes32 batchHash);
    /// @notice `org` committed its transcript digest and sigma commitment for a checkpoint.
    event CheckpointCommitted(
        uint256 indexed sessionId,
        uint32 indexed checkpoint,
        address indexed org,
        bytes32 digest,
        bytes32 sigmaCommitment
    );
    /// @notice All participants posted the same digest; the reveal round is open.
    event DigestsAgreed(uint256 indexed sessionId, uint32 indexed checkpoint, bytes32 digest);
    /// @notice `org` revealed its sigma for a checkpoint, matching its commitment.
    event SigmaRevealed(
        uint256 indexed sessionId,
        uint32 indexed checkpoint,
        address indexed org,
        uint256 sigma,
        bytes32 salt
    );
    /// @notice The sigmas summed to zero: the checkpoint's MAC check passed.
    event CheckpointPassed(uint256 indexed sessionId, uint32 indexed checkpoint, bytes32 digest);
    /// @notice `org` committed to its input.
    event InputCommitted(uint256 indexed sessionId, address indexed org, bytes32 commitment);
    /// @notice `org` committed to its output shares.
    event OutputCommitted(uint256 indexed sessionId, address indexed org, bytes32 commitment);
    /// @notice `org` revealed its output shares, matching its commitment.
    event OutputRevealed(
        uint256 indexed sessionId,
        address indexed org,
        uint256[] shares,
        bytes32 salt
    );
    /// @notice The output MAC check passed; `result` is the session's result.
    event SessionFinalised(uint256 indexed sessionId, uint256[] result);
    /// @notice The session was aborted (`by` sent the transaction; `culprit` is the org at
    /// fault where known, else the zero address).
    event SessionAborted(
        uint256 indexed sessionId,
        AbortReason reason,
        address by,
        address culprit,
        uint32 checkpoint,
        bytes32 detail
    );

    /// @param consortium_ The consortium registry.
    constructor(address consortium_) {
        if (consortium_ == address(0)) revert ZeroAddress();
        consortium = Consortium(consortium_);
    }

    // ---------------------------------------------------------------- session set-up

    /// @notice Opens a session. Callable by the consortium admin or a registered org.
    /// @param jobHash The hash of the job (what is computed, on which schema).
    /// @param participants The participating orgs (at least two, registered, distinct).
    /// @param modulus The field modulus (odd, at least 3).
    /// @param preprocessor The preprocessing service's address.
    /// @param deadline Unix time after which the session can only be aborted.
    /// @return sessionId The new session's id.
    function openSession(
        bytes32 jobHash,
        address[] calldata participants,
        uint256 modulus,
        address preprocessor,
        uint64 deadline
    ) external returns (uint256 sessionId) {
        if (msg.sender != consortium.admin() && !consortium.isOrg(msg.sender)) {
            revert NotAuthorized(msg.sender);
        }
        uint256 n = participants.length;
        if (n < 2) revert TooFewParticipants();
        for (uint256 i = 0; i < n; ++i) {
            address p = participants[i];
            if (!consortium.isOrg(p)) revert UnknownOrg(p);
            for (uint256 j = 0; j < i; ++j) {
                if (participants[j] == p) revert DuplicateParticipant(p);
            }
        }
        if (modulus < 3 || modulus % 2 == 0) revert InvalidModulus(modulus);
        if (preprocessor == address(0)) revert ZeroAddress();
        if (deadline <= block.timestamp) revert InvalidDeadline(deadline);

        sessionId = ++sessionCount;
        Session storage s = _sessions[sessionId];
        s.jobHash = jobHash;
        s.modulus = modulus;
        s.preprocessor = preprocessor;
        s.deadline = deadline;
        s.state = State.Opened;
        s.participants = participants;
        for (uint256 i = 0; i < n; ++i) {
            _isParticipant[sessionId][participants[i]] = true;
        }
        emit SessionOpened(sessionId, jobHash, participants, modulus, preprocessor, deadline);
        emit StateChanged(sessionId, State.Opened);
    }

    /// @notice The preprocessing service commits to the hash of each participant's batch.
    /// @param sessionId The session.
    /// @param batchHashes One nonzero hash per participant, in participant order.
    function commitPreprocessing(uint256 sessionId, bytes32[] calldata batchHashes) external {
        Session storage s = _live(sessionId);
        if (msg.sender != s.preprocessor) revert NotPreprocessor(msg.sender);
        if (s.state != State.Opened) revert WrongState(State.Opened, s.state);
        address[] storage parts = s.participants;
        uint256 n = parts.length;
        if (batchHashes.length != n) revert LengthMismatch(n, batchHashes.length);
        for (uint256 i = 0; i < n; ++i) {
            if (batchHashes[i] == bytes32(0)) revert EmptyField("batchHash");
        }

        for (uint256 i = 0; i < n; ++i) {
            address org = parts[i];
            _batchHashes[sessionId][org] = batchHashes[i];
            emit PreprocessingCommitted(sessionId, org, batchHashes[i]);
        }
        _setState(sessionId, s, State.Preprocessed);
    }

    // ---------------------------------------------------------------- checkpoints

    /// @notice Commits the caller's transcript digest and sigma commitment for the current
    /// checkpoint. Allowed in Preprocessed (before any input), Computing (before any output
    /// commitment) and OutputRevealed, once per participant and checkpoint, while the reveal
    /// round is not open. The last commit either opens the reveal round (all digests equal) or
    /// aborts the session with reason DigestMismatch.
    /// @param sessionId The session.
    /// @param digest The caller's running hash of everything opened so far; nonzero.
    /// @param sigmaCommitment keccak256(abi.encode(sigma, salt, caller, sessionId,
    /// uint256(checkpoint))); nonzero.
    function commitCheckpoint(uint256 sessionId, bytes32 digest, bytes32 sigmaCommitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        State st = s.state;
        if (st == State.Opened) revert WrongState(State.Preprocessed, st);
        if (
            s.revealOpen ||
            (st == State.Preprocessed && s.inputCount != 0) ||
            (st == State.Computing && s.outputCommits != 0)
        ) revert WrongPhase();
        uint32 cp = s.checkpointCount;
        if (_sigmaCommitments[sessionId][cp][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (digest == bytes32(0)) revert EmptyField("digest");
        if (sigmaCommitment == bytes32(0)) revert EmptyField("sigmaCommitment");

        _sigmaCommitments[sessionId][cp][msg.sender] = sigmaCommitment;
        uint32 commits = s.cpCommits;
        if (commits == 0) {
            s.cpDigest = digest;
        } else if (digest != s.cpDigest) {
            s.digestMismatch = true;
        }
        commits += 1;
        s.cpCommits = commits;
        emit CheckpointCommitted(sessionId, cp, msg.sender, digest, sigmaCommitment);

        if (commits == s.participants.length) {
            if (s.digestMismatch) {
                _abort(sessionId, s, AbortReason.DigestMismatch, address(0), bytes32(0));
            } else {
                s.revealOpen = true;
                emit DigestsAgreed(sessionId, cp, s.cpDigest);
            }
        }
    }

    /// @notice Reveals the caller's sigma for the current checkpoint (reveal round only, once).
    /// A reveal that does not match the commitment aborts the session (SigmaMismatch, the caller
    /// is the culprit). The last reveal passes the checkpoint if the sigmas sum to zero mod the
    /// modulus (and, in state OutputRevealed, finalises the session), else aborts it
    /// (MacCheckFailed).
    /// @param sessionId The session.
    /// @param sigma The caller's MAC-check share, below the modulus.
    /// @param salt The salt used in the commitment.
    function revealSigma(uint256 sessionId, uint256 sigma, bytes32 salt) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        State st = s.state;
        if (st == State.Opened) revert WrongState(State.Preprocessed, st);
        if (!s.revealOpen) revert WrongPhase();
        uint32 cp = s.checkpointCount;
        if (_sigmaRevealed[sessionId][cp][msg.sender]) revert AlreadySubmitted(msg.sender);
        uint256 modulus = s.modulus;
        if (sigma >= modulus) revert ValueOutOfField(sigma);

        bytes32 expected = keccak256(abi.encode(sigma, salt, msg.sender, sessionId, uint256(cp)));
        if (expected != _sigmaCommitments[sessionId][cp][msg.sender]) {
            _abort(sessionId, s, AbortReason.SigmaMismatch, msg.sender, bytes32(0));
            return;
        }

        _sigmaRevealed[sessionId][cp][msg.sender] = true;
        uint256 sum = addmod(s.sigmaSum, sigma, modulus);
        uint32 reveals = s.cpReveals + 1;
        emit SigmaRevealed(sessionId, cp, msg.sender, sigma, salt);

        if (reveals < s.participants.length) {
            s.sigmaSum = sum;
            s.cpReveals = reveals;
            return;
        }
        if (sum != 0) {
            _abort(sessionId, s, AbortReason.MacCheckFailed, address(0), bytes32(0));
            return;
        }
        // Checkpoint passed: reset the round for the next checkpoint.
        s.sigmaSum = 0;
        s.cpReveals = 0;
        s.cpCommits = 0;
        s.revealOpen = false;
        s.checkpointCount = cp + 1;
        emit CheckpointPassed(sessionId, cp, s.cpDigest);

        if (st == State.Preprocessed) {
            s.sacrificeChecked = true;
        } else if (st == State.Computing) {
            s.outputAllowed = true;
        } else {
            s.state = State.Finalised;
            emit SessionFinalised(sessionId, _outputSums[sessionId]);
            emit StateChanged(sessionId, State.Finalised);
        }
    }

    // ---------------------------------------------------------------- input and output

    /// @notice Commits the caller's (salted) input hash. Needs state Preprocessed, a passed
    /// sacrifice-check checkpoint and no checkpoint in progress. The last commit moves the
    /// session to Computing.
    /// @param sessionId The session.
    /// @param commitment The input commitment; nonzero.
    function commitInput(uint256 sessionId, bytes32 commitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Preprocessed) revert WrongState(State.Preprocessed, s.state);
        if (!s.sacrificeChecked) revert SacrificeNotChecked();
        if (s.cpCommits != 0 || s.revealOpen) revert WrongPhase();
        if (_inputCommitments[sessionId][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (commitment == bytes32(0)) revert EmptyField("commitment");

        _inputCommitments[sessionId][msg.sender] = commitment;
        uint32 count = s.inputCount + 1;
        s.inputCount = count;
        emit InputCommitted(sessionId, msg.sender, commitment);
        if (count == s.participants.length) _setState(sessionId, s, State.Computing);
    }

    /// @notice Commits the caller's output shares. Needs state Computing, a checkpoint passed
    /// after all inputs were committed, and no checkpoint in progress. The first output
    /// commitment closes further checkpoints in state Computing.
    /// @param sessionId The session.
    /// @param commitment keccak256(abi.encode(shares, salt, caller, sessionId)); nonzero.
    function commitOutput(uint256 sessionId, bytes32 commitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Computing) revert WrongState(State.Computing, s.state);
        if (!s.outputAllowed) revert MacCheckRequired();
        if (s.cpCommits != 0 || s.revealOpen) revert WrongPhase();
        if (_outputCommitments[sessionId][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (commitment == bytes32(0)) revert EmptyField("commitment");

        _outputCommitments[sessionId][msg.sender] = commitment;
        s.outputCommits += 1;
        emit OutputCommitted(sessionId, msg.sender, commitment);
    }

    /// @notice Reveals the caller's output shares once all output commitments are in. The first
    /// valid reveal fixes the vector length (1 to 64). A reveal that does not match the
    /// commitment aborts the session (OutputMismatch, the caller is the culprit). The last
    /// reveal moves the session to OutputRevealed; one more checkpoint then finalises it.
    /// @param sessionId The session.
    /// @param shares The caller's output shares, each below the modulus.
    /// @param salt The salt used in the commitment.
    function revealOutput(uint256 sessionId, uint256[] calldata shares, bytes32 salt) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Computing) revert WrongState(State.Computing, s.state);
        uint256 n = s.participants.length;
        if (s.outputCommits != n) revert WrongPhase();
        if (_outputRevealed[sessionId][msg.sender]) revert AlreadySubmitted(msg.sender);
        uint256 len = shares.length;
        uint256 fixedLen = s.outputLength;
        if (fixedLen == 0) {
            if (len == 0) revert LengthMismatch(1, 0);
            if (len > MAX_OUTPUTS) revert LengthMismatch(MAX_OUTPUTS, len);
        } else if (len != fixedLen) {
            revert LengthMismatch(fixedLen, len);
        }
        uint256 modulus = s.modulus;
        for (uint256 i = 0; i < len; ++i) {
            if (shares[i] >= modulus) revert ValueOutOfField(shares[i]);
        }

        bytes32 expected = keccak256(abi.encode(shares, salt, msg.sender, sessionId));
        if (expected != _outputCommitments[sessionId][msg.sender]) {
            _abort(sessionId, s, AbortReason.OutputMismatch, msg.sender, bytes32(0));
            return;
        }

        _outputRevealed[sessionId][msg.sender] = true;
        uint256[] storage sums = _outputSums[sessionId];
        if (fixedLen == 0) {
            s.outputLength = uint32(len);
            for (uint256 i = 0; i < len; ++i) sums.push(shares[i]);
        } else {
            for (uint256 i = 0; i < len; ++i) sums[i] = addmod(sums[i], shares[i], modulus);
        }
        uint32 reveals = s.outputReveals + 1;
        s.outputReveals = reveals;
        emit OutputRevealed(sessionId, msg.sender, shares, salt);
        if (reveals == n) _setState(sessionId, s, State.OutputRevealed);
    }

    // ---------------------------------------------------------------- aborts

    /// @notice Aborts the session (reason ParticipantAbort). Any participant, any live state.
    /// @param sessionId The session.
    /// @param detail Free-form detail recorded with the abort (for example a hash of a reason).
    function abort(uint256 sessionId, bytes32 detail) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);

        _abort(sessionId, s, AbortReason.ParticipantAbort, address(0), detail);
    }

    /// @notice Aborts a live session whose deadline has passed (reason Expired). Anyone.
    /// @param sessionId The session.
    function abortExpired(uint256 sessionId) external {
        Session storage s = _existing(sessionId);
        if (_closed(s.state)) revert SessionClosed(sessionId, s.state);
        if (block.timestamp <= s.deadline) revert DeadlineNotPassed();

        _abort(sessionId, s, AbortReason.Expired, address(0), bytes32(0));
    }

    // ---------------------------------------------------------------- views

    /// @notice A session's parameters and progress.
    /// @param sessionId The session.
    /// @return jobHash The job's hash.
    /// @return preprocessor The preprocessing service's address.
    /// @return modulus The field modulus.
    /// @return deadline The deadline (Unix time).
    /// @return state The current state.
    /// @return checkpointCount The number of the current (next) checkpoint.
    /// @return participants The participating orgs.
    function getSession(
        uint256 sessionId
    )
        external
        view
        returns (
            bytes32 jobHash,
            address preprocessor,
            uint256 modulus,
            uint64 deadline,
            State state,
            uint32 checkpointCount,
            address[] memory participants
        )
    {
        Session storage s = _existing(sessionId);
        return (
            s.jobHash,
            s.preprocessor,
            s.modulus,
            s.deadline,
            s.state,
            s.checkpointCount,
            s.participants
        );
    }

    /// @notice The session's result: the sums of the revealed output shares.
    /// @param sessionId The session.
    /// @return The result vector; empty unless the session is Finalised.
    function getResult(uint256 sessionId) external view returns (uint256[] memory) {
        Session storage s = _existing(sessionId);
        if (s.state != State.Finalised) return new uint256[](0);
        return _outputSums[sessionId];
    }

    /// @notice Why and where a session was aborted (all zero unless Aborted).
    /// @param sessionId The session.
    /// @return reason The abort reason.
    /// @return culprit The org at fault where known, else the zero address.
    /// @return checkpoint The checkpoint number current at the abort.
    /// @return detail The detail recorded with the abort.
    function getAbort(
        uint256 sessionId
    )
        external
        view
        returns (AbortReason reason, address culprit, uint32 checkpoint, bytes32 detail)
    {
        Session storage s = _existing(sessionId);
        return (s.abortReason, s.abortCulprit, s.abortCheckpoint, s.abortDetail);
    }

    /// @notice The preprocessing batch hash committed for `org`.
    /// @param sessionId The session.
    /// @param org The participant.
    /// @return The batch hash; zero if none was committed for `org`.
    function batchHash(uint256 sessionId, address org) external view returns (bytes32) {
        _existing(sessionId);
        return _batchHashes[sessionId][org];
    }

    // ---------------------------------------------------------------- internals

    function _existing(uint256 sessionId) private view returns (Session storage s) {
        if (sessionId == 0 || sessionId > sessionCount) revert UnknownSession(sessionId);
        return _sessions[sessionId];
    }

    /// @dev An existing session that is neither closed nor past its deadline.
    function _live(uint256 sessionId) private view returns (Session storage s) {
        s = _existing(sessionId);
        if (_closed(s.state)) revert SessionClosed(sessionId, s.state);
        if (block.timestamp > s.deadline) revert DeadlinePassed(sessionId, s.deadline);
    }

    function _requireParticipant(uint256 sessionId) private view {
        if (!_isParticipant[sessionId][msg.sender]) revert NotParticipant(msg.sender);
    }

    function _closed(State state) private pure returns (bool) {
        return state == State.Finalised || state == State.Aborted;
    }

    function _setState(uint256 sessionId, Session storage s, State state) private {
        s.state = state;
        emit StateChanged(sessionId, state);
    }

    /// @dev Records an abort. Never reverts.
    function _abort(
        uint256 sessionId,
        Session storage s,
        AbortReason reason,
        address culprit,
        bytes32 detail
    ) private {
        uint32 cp = s.checkpointCount;
        s.abortReason = reason;
        s.abortCulprit = culprit;
        s.abortCheckpoint = cp;
        s.abortDetail = detail;
        delete _outputSums[sessionId];
        emit SessionAborted(sessionId, reason, msg.sender, culprit, cp, detail);
        _setState(sessionId, s, State.Aborted);
    }
}
